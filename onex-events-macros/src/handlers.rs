//! Code generation for `#[onex_handler]` methods: each method's body runs in
//! the incoming event's correlation (and, unless `lifecycle = false`, as an
//! operation of the node), and the declaring block implements the node's
//! `EventHandlers`, which decodes an event for a handler and tells how the
//! handler ended. A handler of a request type also publishes its response
//! (see `requests`).

use crate::ast::Handler;
use crate::attr::is_method_attr;
use crate::expand::{fake_return, respan};
use crate::names::type_string;
use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned, ToTokens};
use syn::spanned::Spanned;
use syn::{FnArg, ItemImpl, Pat, ReturnType};

/// Runs in all when `attempts` is not given.
pub const DEFAULT_ATTEMPTS: u32 = 3;
/// The first retry's wait when `backoff_ms` is not given.
pub const DEFAULT_BACKOFF_MS: u64 = 100;
/// The longest wait when `max_backoff_ms` is not given.
pub const DEFAULT_MAX_BACKOFF_MS: u64 = 10_000;

fn int<T: std::str::FromStr>(lit: Option<&syn::LitInt>, default: T) -> T
where
    T::Err: std::fmt::Display,
{
    // `valid` reported a literal that does not parse.
    lit.and_then(|l| l.base10_parse().ok()).unwrap_or(default)
}

/// The rewritten method of handler `h` of node type `node_type`. `valid`
/// made sure it is an `async fn` on `&self` with one argument.
pub fn method(h: &Handler, node_type: &str, k: &TokenStream) -> TokenStream {
    let method = h.method;
    let attrs = method.attrs.iter().filter(|a| !is_method_attr(a));
    let vis = &method.vis;
    let defaultness = &method.defaultness;
    let mut sig = method.sig.clone();
    let Some(arg) = h.args.first() else {
        return method.to_token_stream();
    };
    let ty = arg.ty;

    // The argument, by its name; a pattern is bound to a name of ours and
    // destructured at the top of the body.
    let (binding, rebind) = match arg.pat {
        Pat::Ident(pi) if pi.subpat.is_none() && pi.by_ref.is_none() => (pi.ident.clone(), None),
        pat => {
            let binding = format_ident!("__onex_event");
            for input in &mut sig.inputs {
                if let FnArg::Typed(pt) = input {
                    *pt.pat = syn::parse_quote!(#binding);
                }
            }
            (binding.clone(), Some(quote!(let #pat = #binding;)))
        }
    };

    // `<T as HandlerInput>` spanned at the argument's type: a type that is
    // not a handler's input is one E0277 there.
    let ks = respan(k, ty.span());
    let received = quote_spanned! {ty.span()=>
        <#ty as #ks::HandlerInput>::received(&#binding)
    };

    let (output, body_span) = match &sig.output {
        ReturnType::Default => (quote!(()), sig.ident.span()),
        ReturnType::Type(_, ty) => (ty.to_token_stream(), ty.span()),
    };
    let fake_return = fake_return(&output, body_span);
    // A responder: its response type, and the reply serialized by
    // `capture` spanned at the return type (a reply that is not
    // `Serialize` is one E0277 there).
    let response = h.response().map(|name| {
        let kb = respan(k, body_span);
        let capture = quote_spanned! {body_span=> #kb::capture(__onex_ok)};
        let node_of = name.split('.').next().unwrap_or_default().to_owned();
        let static_type = quote! {
            static __ONEX_RESPONSE: #k::EventType =
                #k::EventType::__new(#name, #node_of, #k::core::option::Option::None, #k::Stage::Response);
        };
        let respond = quote! {
            #k::respond(
                #k::OnexNode::onex_context(self),
                __onex_origin,
                __ONEX_RESPONSE,
                &__onex_outcome,
                (&#k::Wrap(&__onex_ret)).__onex_ok().map(|__onex_ok| #capture),
            );
        };
        (static_type, respond)
    });
    let origin = response
        .as_ref()
        .map(|_| quote!(let __onex_origin = #k::RequestOrigin::of(#received, &__onex_scope);));
    let (response_type, respond) = response.unzip();
    let stmts = &method.block.stmts;
    let body = quote_spanned! {body_span=>
        async move {
            #fake_return
            #rebind
            #(#stmts)*
        }
    };

    let run = if h.lifecycle() {
        let name = h.name();
        let names =
            ["started", "completed", "failed"].map(|stage| format!("{node_type}.{name}.{stage}"));
        let arg_name = &arg.name;
        let arg_ty = type_string(ty);
        // `payload`: the decoded payload, serialized by `capture` spanned
        // at `payload`: a payload type that is not `Serialize` is one E0277
        // there.
        let payload = match &h.attr.payload {
            Some(kw) => {
                let kp = respan(k, kw.span);
                let event = syn::Ident::new(&binding.to_string(), kw.span);
                let capture = quote_spanned! {kw.span=> #kp::capture(&#event.payload)};
                quote!(#k::core::option::Option::Some(#capture))
            }
            None => quote!(#k::core::option::Option::None),
        };
        quote! {
            static __ONEX_OPERATION: #k::OperationDescriptor = #k::OperationDescriptor::new(
                #node_type,
                #name,
                [#(#names),*],
                &[#k::ArgSpec { name: #arg_name, ty: #arg_ty }],
            );
            #response_type
            let __onex_received = #received;
            let __onex_scope = #k::HandlerScope::of(__onex_received);
            #origin
            let __onex_input = __ONEX_OPERATION
                .input()
                .value(#arg_name, #k::handled_event(__onex_received, #payload));
            __onex_scope
                .run(async move {
                    let mut __onex_guard = #k::OperationGuard::start(
                        #k::OnexNode::onex_context(self),
                        &__ONEX_OPERATION,
                        __onex_input,
                    );
                    #[allow(clippy::let_unit_value)]
                    let __onex_ret = __onex_guard.instrument(#body).await;
                    {
                        #[allow(unused_imports)]
                        use #k::via::*;
                        let __onex_outcome = (&&&&&&#k::Wrap(&__onex_ret)).__onex_outcome();
                        #respond
                        __onex_guard.finish(__onex_outcome, #k::core::option::Option::None);
                    }
                    __onex_ret
                })
                .await
        }
    } else if let Some(respond) = respond {
        quote! {
            #response_type
            let __onex_scope = #k::HandlerScope::of(#received);
            #origin
            __onex_scope
                .run(async move {
                    #[allow(clippy::let_unit_value)]
                    let __onex_ret = #body.await;
                    {
                        #[allow(unused_imports)]
                        use #k::via::*;
                        let __onex_outcome = (&&&&&&#k::Wrap(&__onex_ret)).__onex_outcome();
                        #respond
                    }
                    __onex_ret
                })
                .await
        }
    } else {
        quote! {
            #k::HandlerScope::of(#received).run(#body).await
        }
    };

    quote! {
        #(#attrs)*
        #vis #defaultness #sig {
            #run
        }
    }
}

/// `impl EventHandlers` for the node `item` declares, with `handlers`
/// (none: a node that handles nothing, which a consumer can still serve).
pub fn event_handlers(item: &ItemImpl, handlers: &[Handler], k: &TokenStream) -> TokenStream {
    let self_ty = &item.self_ty;
    let (impl_generics, _, where_clause) = item.generics.split_for_impl();
    let mut predicates: Vec<TokenStream> = where_clause
        .map(|w| w.predicates.iter().map(ToTokens::to_token_stream).collect())
        .unwrap_or_default();
    // The trait asks for a node shared between threads. The impl holds only
    // where it is: its bound names a lifetime of its own so it is never
    // "trivially false", and a node that is not `Send + Sync` and handles
    // nothing still compiles. One with handlers is told so once, at its type
    // (a generic one where it is served).
    predicates
        .push(quote!(for<'__onex> Self: #k::core::marker::Send + #k::core::marker::Sync + 'static));
    let assert_shareable = (!handlers.is_empty() && item.generics.params.is_empty()).then(|| {
        let ks = respan(k, self_ty.span());
        let assert = quote_spanned! {self_ty.span()=> #ks::assert_shareable::<#self_ty>};
        quote! {
            const _: fn() = || #assert();
        }
    });

    let specs = handlers.iter().map(|h| {
        let name = h.name();
        let event_types = h.attr.event_types.iter().map(syn::LitStr::value);
        let typed = h
            .attr
            .event_paths
            .iter()
            .map(|path| crate::expand::event_const(path, k, "EVENT_TYPE"));
        let lifecycle = h.lifecycle();
        let attempts = int(h.attr.attempts.as_ref(), DEFAULT_ATTEMPTS);
        let backoff = int(h.attr.backoff_ms.as_ref(), DEFAULT_BACKOFF_MS);
        let max = int(h.attr.max_backoff_ms.as_ref(), DEFAULT_MAX_BACKOFF_MS);
        let timeout = match h.attr.timeout_ms.as_ref() {
            Some(lit) => {
                let ms = int(Some(lit), 0u64);
                quote!(#k::core::option::Option::Some(#k::Duration::from_millis(#ms)))
            }
            None => quote!(#k::core::option::Option::None),
        };
        // Spanned at the argument's type, as its decoding is: one error
        // there for a type that is not a handler input.
        let payload = match h.args.first() {
            Some(arg) => {
                let ty = arg.ty;
                let ks = respan(k, ty.span());
                quote_spanned! {ty.span()=> <#ty as #ks::HandlerInput>::PAYLOAD}
            }
            None => quote!(#k::core::option::Option::None),
        };
        quote! {
            #k::HandlerSpec {
                name: #name,
                event_types: &[#(#event_types,)* #(#typed),*],
                lifecycle: #lifecycle,
                retry: #k::RetryPolicy::new(
                    #attempts,
                    #k::Duration::from_millis(#backoff),
                    #k::Duration::from_millis(#max),
                ),
                timeout: #timeout,
                payload: #payload,
            }
        }
    });

    let arms = handlers.iter().enumerate().map(|(index, h)| {
        let ident = &h.method.sig.ident;
        let Some(arg) = h.args.first() else {
            return quote!();
        };
        let ty = arg.ty;
        let ks = respan(k, ty.span());
        let decode = quote_spanned! {ty.span()=> <#ty as #ks::HandlerInput>::decode};
        // A declared event named by its type is taken as that type (or JSON).
        let takes = h.attr.event_paths.iter().map(|path| {
            quote_spanned! {ty.span()=> #ks::assert_takes_payload_of::<#ty, #path>();}
        });
        let call = match &item.trait_ {
            Some((_, path, _)) => quote!(<Self as #path>::#ident),
            None => quote!(<Self>::#ident),
        };
        // Spanned at the method's name: a handler whose future is not
        // `Send` is reported there.
        let ki = respan(k, ident.span());
        // A responder answers an undecodable request with an error, and
        // acknowledges a request it answered, `Err` included.
        let (event, undecodable, handled) = match h.response() {
            Some(name) => {
                let node_of = name.split('.').next().unwrap_or_default().to_owned();
                (
                    quote!(#ki::Arc::clone(&__onex_event)),
                    quote! {
                        #ki::respond_undecodable(
                            #ki::OnexNode::onex_context(&*self),
                            &__onex_event,
                            #ki::EventType::__new(#name, #node_of, #ki::core::option::Option::None, #ki::Stage::Response),
                            &e,
                        );
                    },
                    quote!(#ki::Handled::Acknowledged),
                )
            }
            None => (
                quote!(__onex_event),
                quote!(),
                quote!(#ki::handled((&&&&&&#ki::Wrap(&__onex_ret)).__onex_outcome())),
            ),
        };
        quote_spanned! {ident.span()=>
            #index => {
                #(#takes)*
                let __onex_run: #ki::HandlerFuture = #ki::Box::pin(async move {
                    let __onex_input = match #decode(#event) {
                        #ki::core::result::Result::Ok(input) => input,
                        #ki::core::result::Result::Err(e) => {
                            #undecodable
                            return #ki::Handled::Undecodable(e);
                        }
                    };
                    #[allow(clippy::let_unit_value)]
                    let __onex_ret = #call(&*self, __onex_input).await;
                    #[allow(unused_imports)]
                    use #ki::via::*;
                    #handled
                });
                __onex_run
            }
        }
    });
    let event = if handlers.is_empty() {
        quote!(_)
    } else {
        quote!(__onex_event)
    };

    // A generic node's handler types may name its parameters, which a
    // registry entry (a `static`) cannot.
    let payload_types = handlers
        .iter()
        .filter(|_| item.generics.params.is_empty())
        .filter_map(|h| Some((h, h.args.first()?.ty)))
        .filter(|(_, ty)| crate::payload_type::nameable(&ty.to_token_stream()))
        .flat_map(|(h, ty)| {
            let names = h.attr.event_types.iter().map(|lit| quote!(#lit));
            let typed = h
                .attr
                .event_paths
                .iter()
                .map(|path| crate::expand::event_const(path, k, "EVENT_TYPE"));
            names.chain(typed).map(move |event_type| {
                crate::payload_type::entry(
                    k,
                    &event_type,
                    crate::payload_type::Role::Handled,
                    &ty.to_token_stream(),
                )
            })
        })
        .collect::<Vec<_>>();
    // A responder's reply: its return type (the `Ok` of a `Result`).
    let replies = handlers
        .iter()
        .filter(|_| item.generics.params.is_empty())
        .filter_map(|h| {
            let response = h.response()?;
            let ty = match &h.method.sig.output {
                ReturnType::Default => quote!(()),
                ReturnType::Type(_, ty) => ty.to_token_stream(),
            };
            if !crate::payload_type::nameable(&ty) {
                return None;
            }
            Some(crate::payload_type::entry(
                k,
                &quote!(#response),
                crate::payload_type::Role::Reply,
                &ty,
            ))
        })
        .collect::<Vec<_>>();

    quote! {
        #assert_shareable
        #(#replies)*
        #(#payload_types)*

        impl #impl_generics #k::EventHandlers for #self_ty where #(#predicates,)* {
            const HANDLERS: &'static [#k::HandlerSpec] = &[#(#specs),*];

            fn handle(
                self: #k::Arc<Self>,
                __onex_index: usize,
                #event: #k::Arc<#k::ReceivedEvent>,
            ) -> #k::HandlerFuture {
                match __onex_index {
                    #(#arms)*
                    _ => #k::no_handler(<Self as #k::NodeDescriptor>::NODE_TYPE, __onex_index),
                }
            }
        }
    }
}
