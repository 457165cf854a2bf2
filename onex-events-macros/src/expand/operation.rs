//! One operation's code: its body inside the runtime's guard, and the
//! declared events it publishes when it ends.

use super::tokens::{fake_return, respan};
use super::Site;
use crate::ast::{Body, Operation};
use crate::attr::{is_operation_attr, IdSource, Publish};
use crate::names::type_string;
use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned, ToTokens};
use syn::spanned::Spanned;
use syn::{ReturnType, Type};

/// `<path as OnexEvent>::NAME`, spanned at `path`: a type that is not a
/// declared event is one E0277 there.
pub(crate) fn event_const(path: &syn::Path, k: &TokenStream, name: &str) -> TokenStream {
    let ks = respan(k, path.span());
    let name = syn::Ident::new(name, path.span());
    quote_spanned! {path.span()=> <#path as #ks::OnexEvent>::#name}
}

/// The code that publishes `publish`'s event if the operation ended that
/// way (`success`: `Ok` or a plain value; else `Err`), in the operation's
/// correlation, before its end event. `id` names the variable holding the
/// argument's id, captured before the body ran.
fn publish_outcome(
    publish: &Publish,
    success: bool,
    k: &TokenStream,
    id: Option<&syn::Ident>,
) -> TokenStream {
    let path = &publish.event;
    let ks = respan(k, path.span());
    let value = format_ident!("__onex_value");
    let pick = if success {
        quote!((&#k::Wrap(&__onex_ret)).__onex_ok())
    } else {
        quote!((&#k::Wrap(&__onex_ret)).__onex_err())
    };
    // `From<&T>` spanned at the event type: an event that cannot be built
    // from the value is reported there.
    let build = quote_spanned! {path.span()=>
        #ks::event_from::<#path, _>(#value)
    };
    let id = match (&publish.id, id) {
        (Some(IdSource::Ret { span, fields }), _) => {
            let kr = respan(k, *span);
            let access = quote!(#value #(.#fields)*);
            quote_spanned! {*span=> #kr::OutcomeId::of(&#access)}
        }
        (_, Some(captured)) => quote!(#k::OutcomeId::Given(#captured)),
        _ => quote!(#k::OutcomeId::Own),
    };
    // `domain_event(..)`/`audit_event(..)`: the event's kind, checked at
    // compile time.
    let kind_check = publish.kind.map(|kind| {
        let variant = match kind {
            "domain" => quote!(Domain),
            _ => quote!(Audit),
        };
        let message = format!(
            "`{kind}_event(..)` names an event whose kind is not `{kind}`: use `publish_on_success(..)`, or declare it with `kind = \"{kind}\"`"
        );
        let kind_of = event_const(path, k, "DESCRIPTOR");
        quote_spanned! {path.span()=>
            const _: () = #ks::core::assert!(
                #ks::core::matches!(#kind_of.kind, #ks::EventKind::#variant),
                #message
            );
        }
    });
    quote! {
        #kind_check
        if let #k::core::option::Option::Some(#value) = #pick {
            let __onex_id = #id;
            #k::publish_on_outcome::<#path>(&__onex_guard, #build, __onex_id);
        }
    }
}

pub(super) fn operation(
    op: &Operation,
    site: &Site,
    k: &TokenStream,
    self_ty: &Type,
    impl_generics: &syn::Generics,
) -> TokenStream {
    let method = op.method;
    let attrs = method.attrs.iter().filter(|a| !is_operation_attr(a));
    let vis = &method.vis;
    let defaultness = &method.defaultness;
    let sig = &method.sig;
    let name = op.attr.name.as_ref().map(|l| l.value()).unwrap_or_default();

    let fields: &[syn::Ident] = op.attr.fields.as_ref().map_or(&[], |(_, v)| v.as_slice());
    let skip: &[syn::Ident] = op.attr.skip.as_ref().map_or(&[], |(_, v)| v.as_slice());
    let skip_all = op.attr.skip_all.is_some();
    let summarized = op.args.iter().filter(|arg| match arg.ident {
        Some(ident) if fields.contains(ident) => true,
        Some(ident) if skip.contains(ident) => false,
        _ => !skip_all,
    });
    let arg_specs = summarized.map(|arg| {
        let n = &arg.name;
        let t = type_string(arg.ty);
        quote!(#k::ArgSpec { name: #n, ty: #t })
    });
    let args = quote!(&[#(#arg_specs),*]);

    // The descriptor, and for an `extend` block its registry entry.
    let statics = match site {
        Site::Declaration { node_type } => {
            let names = ["started", "completed", "failed"]
                .map(|stage| format!("{node_type}.{name}.{stage}"));
            quote! {
                static __ONEX_OPERATION: #k::OperationDescriptor =
                    #k::OperationDescriptor::new(#node_type, #name, [#(#names),*], #args);
            }
        }
        Site::Extension => {
            let position = op.position as u32;
            quote!(#k::extension_operation!(#self_ty, #name, #position, #args);)
        }
    };

    // The opted-in values' types, for their schemas (see `payload_type`).
    let value_types = value_types(op, k, impl_generics);

    // `capture` spanned at the argument, path included: a value that is
    // not `Serialize` is reported there and nowhere else.
    let values = fields.iter().map(|ident| {
        let n = ident.to_string();
        let k = respan(k, ident.span());
        quote_spanned! {ident.span()=>
            .value(#n, #k::capture(&#ident))
        }
    });

    // A receiver always exists here: `valid` rejected operations without one.
    // `&self` lends the context to the guard for the whole call; a receiver
    // the body moves or borrows mutably makes the guard hold a clone.
    let (ctx, start) = match op.receiver {
        Some(r) => {
            let self_token = &r.self_token;
            let by_value = r.reference.is_none()
                && (r.colon_token.is_none()
                    || matches!(&*r.ty, Type::Path(p) if p.path.is_ident("Self")));
            let shared_ref = r.reference.is_some() && r.mutability.is_none();
            let ctx = if by_value {
                quote!(&#self_token)
            } else {
                quote!(&*#self_token)
            };
            let start = if shared_ref {
                quote!(start)
            } else {
                quote!(start_owned)
            };
            (ctx, start)
        }
        None => (quote!(self), quote!(start_owned)),
    };

    // The value the body produces: the declared return type of an
    // `async fn`, `T` of `Future<Output = T>` for `#[async_trait]`'s shape;
    // with the span of the type as written, `()` having none.
    let (output, stmts): (Option<(TokenStream, Span)>, &[syn::Stmt]) = match &op.body {
        Body::Boxed { output, block, .. } => (
            output.map(|ty| (ty.to_token_stream(), ty.span())),
            &block.block.stmts,
        ),
        _ => (
            Some(match &sig.output {
                ReturnType::Default => (quote!(()), Span::call_site()),
                ReturnType::Type(_, ty) => (ty.to_token_stream(), ty.span()),
            }),
            &method.block.stmts,
        ),
    };
    let body_span = match (&op.body, &sig.output) {
        (
            Body::Boxed {
                output: Some(ty), ..
            },
            _,
        ) => ty.span(),
        (Body::Boxed { .. }, _) | (_, ReturnType::Default) => sig.ident.span(),
        (_, ReturnType::Type(_, ty)) => ty.span(),
    };
    let fake_return = output.and_then(|(ty, span)| fake_return(&ty, span));

    // The body's `async` block carries the span of the declared return type,
    // so rustc's notes about it (e.g. "this function should return `Result`
    // or `Option` to accept `?`") point at the user's signature.
    let body = quote_spanned! {body_span=>
        async move {
            #fake_return
            #(#stmts)*
        }
    };

    // `ret`: the `Ok` value of a `Result` (any alias) or the value itself,
    // picked by autoref specialization with no bound, then serialized by
    // `capture` spanned at `ret`: a value that is not `Serialize` is one
    // plain E0277 at `ret`, not a failed method lookup.
    let ret = match &op.attr.ret {
        Some(kw) => {
            let k = respan(k, kw.span);
            let capture = quote_spanned! {kw.span=> #k::capture(__onex_ok)};
            quote!((&#k::Wrap(&__onex_ret)).__onex_ok().map(|__onex_ok| #capture))
        }
        None => quote!(#k::core::option::Option::None),
    };

    // `publish_on_success`/`publish_on_error`: ids from arguments are taken
    // before the body runs (it may move them), with `ToString` spanned at
    // the argument.
    let publishes = [(&op.attr.on_success, true), (&op.attr.on_error, false)];
    let mut captures = Vec::new();
    let mut outcomes = Vec::new();
    for (i, (publish, success)) in publishes.into_iter().enumerate() {
        let Some(publish) = publish else { continue };
        let captured = match &publish.id {
            Some(IdSource::Arg(ident)) => {
                let var = format_ident!("__onex_id_{}", i);
                let ks = respan(k, ident.span());
                captures.push(quote_spanned! {ident.span()=>
                    let #var: #ks::String = #ks::ToString::to_string(&#ident);
                });
                Some(var)
            }
            _ => None,
        };
        outcomes.push(publish_outcome(publish, success, k, captured.as_ref()));
    }

    let instrumented = quote! {
        #statics
        #value_types
        #(#captures)*
        let mut __onex_guard = #k::OperationGuard::#start(
            #k::OnexNode::onex_context(#ctx),
            &__ONEX_OPERATION,
            __ONEX_OPERATION.input() #(#values)*,
        );
        #[allow(clippy::let_unit_value)]
        let __onex_ret = __onex_guard.instrument(#body).await;
        {
            #[allow(unused_imports)]
            use #k::via::*;
            #(#outcomes)*
            let __onex_value = #ret;
            __onex_guard.finish((&&&&&&#k::Wrap(&__onex_ret)).__onex_outcome(), __onex_value);
        }
        __onex_ret
    };

    match &op.body {
        // As tracing's `#[instrument]` does for `#[async_trait]`: the
        // statements before `Box::pin(..)` stay as they are, and the pinned
        // `async` block is what gets instrumented.
        Body::Boxed {
            stmt, call, block, ..
        } => {
            let before = &method.block.stmts[..*stmt];
            let func = &call.func;
            let async_attrs = &block.attrs;
            let capture = &block.capture;
            quote! {
                #(#attrs)*
                #vis #defaultness #sig {
                    #(#before)*
                    #func(#(#async_attrs)* async #capture { #instrumented })
                }
            }
        }
        _ => quote! {
            #(#attrs)*
            #vis #defaultness #sig {
                #instrumented
            }
        },
    }
}

/// The payload-type entries of an operation's opted-in values, through
/// the runtime's `operation_values!`: each `fields(..)` argument's type
/// (behind its references) and, with `ret`, the returned type (the `Ok` of
/// a `Result`). A type naming `Self`, a generic parameter, a lifetime or
/// `impl Trait` has none: an entry is a `static`, which cannot name them.
fn value_types(
    op: &Operation,
    k: &TokenStream,
    impl_generics: &syn::Generics,
) -> Option<TokenStream> {
    if !impl_generics.params.is_empty() || !op.method.sig.generics.params.is_empty() {
        return None;
    }
    let nameable = crate::payload_type::nameable;
    let fields: &[syn::Ident] = op.attr.fields.as_ref().map_or(&[], |(_, v)| v.as_slice());
    let args: Vec<TokenStream> = fields
        .iter()
        .filter_map(|field| {
            let mut ty = op.args.iter().find(|a| a.ident == Some(field))?.ty;
            while let Type::Reference(r) = ty {
                ty = &r.elem;
            }
            let tokens = ty.to_token_stream();
            let name = field.to_string();
            nameable(&tokens).then(|| quote!(#name: #tokens))
        })
        .collect();
    let ret = op
        .attr
        .ret
        .as_ref()
        .and_then(|_| match &op.body {
            Body::Boxed { output, .. } => output.map(ToTokens::to_token_stream),
            _ => Some(match &op.method.sig.output {
                ReturnType::Default => quote!(()),
                ReturnType::Type(_, ty) => ty.to_token_stream(),
            }),
        })
        .filter(nameable);
    if args.is_empty() && ret.is_none() {
        return None;
    }
    Some(quote!(#k::operation_values!(#(#args),*; #ret);))
}
