//! Code generation for `#[onex_node]`: each operation's body runs inside the
//! runtime's guard, and the node's catalog becomes a `const`, a
//! `NodeDescriptor` impl and an entry of the program-wide registry.

use crate::ast::{Node, Operation};
use crate::attr::{is_operation_attr, NodeAttr};
use crate::fallback;
use crate::names::type_string;
use proc_macro2::{TokenStream, TokenTree};
use quote::{quote, quote_spanned, ToTokens};
use syn::{ItemImpl, ReturnType, Type};

/// The entry of `#[onex_node]`.
pub fn node(args: TokenStream, input: TokenStream) -> TokenStream {
    let item: ItemImpl = match syn::parse2(input.clone()) {
        Ok(item) => item,
        Err(e) => {
            // On another item (a struct, a fn, ..) say where the attribute
            // goes rather than syn's "expected `impl`".
            let e = match syn::parse2::<syn::Item>(input.clone()) {
                Ok(_) => syn::Error::new(
                    proc_macro2::Span::call_site(),
                    "`#[onex_node]` goes on the node's inherent impl block (`impl MyNode { .. }`); the node struct takes `#[derive(OnexNode)]`",
                ),
                Err(_) => e,
            };
            return fallback::unparsed(e, input);
        }
    };
    let result = NodeAttr::parse(args).and_then(|attr| {
        let node = Node::from_syn(attr, &item)?;
        node.validate()?;
        Ok(generate(&node))
    });
    match result {
        Ok(tokens) => tokens,
        Err(e) => fallback::node(&item, e),
    }
}

struct Names {
    node_type: String,
    service: String,
    namespace: String,
}

fn generate(node: &Node) -> TokenStream {
    let attr = &node.attr;
    let node_type = attr
        .node_type
        .as_ref()
        .map(|l| l.value())
        .unwrap_or_default();
    let names = Names {
        service: attr
            .service
            .as_ref()
            .map_or_else(|| node_type.clone(), |l| l.value()),
        namespace: attr
            .namespace
            .as_ref()
            .map_or_else(|| "onex".to_owned(), |l| l.value()),
        node_type,
    };
    let item = node.item;
    let catalog = catalog(node, &names);

    let mut methods: Vec<Option<&Operation>> = vec![None; item.items.len()];
    for op in &node.operations {
        methods[op.index] = Some(op);
    }
    let items = item.items.iter().zip(methods).map(|(it, op)| match op {
        Some(op) => operation(op, &names),
        None => it.to_token_stream(),
    });

    let outer = item
        .attrs
        .iter()
        .filter(|a| matches!(a.style, syn::AttrStyle::Outer));
    let inner = item
        .attrs
        .iter()
        .filter(|a| matches!(a.style, syn::AttrStyle::Inner(_)));
    let defaultness = &item.defaultness;
    let unsafety = &item.unsafety;
    let self_ty = &item.self_ty;
    let (impl_generics, _, where_clause) = item.generics.split_for_impl();

    quote! {
        #(#outer)*
        #defaultness #unsafety impl #impl_generics #self_ty #where_clause {
            #(#inner)*
            /// The event catalog of this node, built at compile time.
            #[allow(dead_code)]
            pub const EVENT_CATALOG: ::onex_events::__private::Catalog = #catalog;
            #(#items)*
        }

        impl #impl_generics ::onex_events::__private::NodeDescriptor for #self_ty #where_clause {
            const CATALOG: &'static ::onex_events::__private::Catalog = &#catalog;
        }

        const _: () = {
            #[::onex_events::__private::linkme::distributed_slice(::onex_events::__private::CATALOGS)]
            #[linkme(crate = ::onex_events::__private::linkme)]
            static __ONEX_CATALOG: ::onex_events::__private::Catalog = #catalog;
        };
    }
}

fn catalog(node: &Node, names: &Names) -> TokenStream {
    let Names {
        node_type,
        service,
        namespace,
    } = names;
    let ops: Vec<String> = node
        .operations
        .iter()
        .filter_map(|op| op.attr.name.as_ref().map(|l| l.value()))
        .collect();
    let lifecycle = ops.iter().flat_map(|op| {
        ["started", "completed", "failed"].map(|stage| format!("{node_type}.{op}.{stage}"))
    });
    let flag = |f: &Option<syn::LitBool>| f.as_ref().is_none_or(|b| b.value);
    let state = flag(&node.attr.include_state_events)
        .then(|| format!("{node_type}.state.changed"))
        .into_iter();
    let metric = flag(&node.attr.include_metric_events)
        .then(|| format!("{node_type}.metric.recorded"))
        .into_iter();
    let rust_type = type_string(&node.item.self_ty);
    quote! {
        ::onex_events::__private::Catalog {
            node_type: #node_type,
            rust_type: ::onex_events::__private::core::concat!(
                ::onex_events::__private::core::module_path!(), "::", #rust_type
            ),
            service: #service,
            namespace: #namespace,
            operations: &[#(#ops),*],
            operation_lifecycle: &[#(#lifecycle),*],
            state_events: &[#(#state),*],
            metric_events: &[#(#metric),*],
        }
    }
}

fn contains_impl_trait(ty: &Type) -> bool {
    fn walk(tokens: TokenStream) -> bool {
        tokens.into_iter().any(|tt| match tt {
            TokenTree::Ident(i) => i == "impl",
            TokenTree::Group(g) => walk(g.stream()),
            _ => false,
        })
    }
    walk(ty.to_token_stream())
}

fn operation(op: &Operation, names: &Names) -> TokenStream {
    let method = op.method;
    let attrs = method.attrs.iter().filter(|a| !is_operation_attr(a));
    let vis = &method.vis;
    let defaultness = &method.defaultness;
    let sig = &method.sig;
    let stmts = &method.block.stmts;
    let name = op.attr.name.as_ref().map(|l| l.value()).unwrap_or_default();
    let node_type = &names.node_type;
    let [started, completed, failed] =
        ["started", "completed", "failed"].map(|stage| format!("{node_type}.{name}.{stage}"));

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
        quote!(::onex_events::__private::ArgSpec { name: #n, ty: #t })
    });
    let values = fields.iter().map(|ident| {
        let n = ident.to_string();
        quote_spanned! {ident.span()=>
            .value(#n, ::onex_events::__private::capture(&#ident))
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

    let fake_return = match &sig.output {
        ReturnType::Default => Some(quote!(())),
        ReturnType::Type(_, ty) if !contains_impl_trait(ty) => Some(ty.to_token_stream()),
        ReturnType::Type(..) => None,
    }
    .map(|ty| {
        quote_spanned! {syn::spanned::Spanned::span(&ty)=>
            #[allow(
                unreachable_code,
                clippy::diverging_sub_expression,
                clippy::empty_loop,
                clippy::let_unit_value,
                clippy::needless_return
            )]
            if false {
                let __onex_fake_return: #ty = loop {};
                return __onex_fake_return;
            }
        }
    });

    // The body's `async` block carries the span of the declared return type,
    // so rustc's notes about it (e.g. "this function should return `Result`
    // or `Option` to accept `?`") point at the user's signature.
    let body_span = match &sig.output {
        ReturnType::Type(_, ty) => syn::spanned::Spanned::span(ty),
        ReturnType::Default => sig.ident.span(),
    };
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
            let capture = quote_spanned! {kw.span=>
                ::onex_events::__private::capture(__onex_ok)
            };
            quote! {{
                use ::onex_events::__private::core::option::Option;
                use ::onex_events::__private::outcome::Wrap;
                trait __OnexOkOfResult<'a> {
                    type Ok: ?Sized + 'a;
                    fn __onex_ok(self) -> Option<&'a Self::Ok>;
                }
                impl<'a, T, E> __OnexOkOfResult<'a>
                    for &Wrap<'a, ::onex_events::__private::core::result::Result<T, E>>
                {
                    type Ok = T;
                    fn __onex_ok(self) -> Option<&'a T> {
                        self.0.as_ref().ok()
                    }
                }
                trait __OnexOkOfValue<'a> {
                    type Ok: ?Sized + 'a;
                    fn __onex_ok(self) -> Option<&'a Self::Ok>;
                }
                impl<'a, T: ?Sized> __OnexOkOfValue<'a> for Wrap<'a, T> {
                    type Ok = T;
                    fn __onex_ok(self) -> Option<&'a T> {
                        Option::Some(self.0)
                    }
                }
                (&Wrap(&__onex_ret)).__onex_ok().map(|__onex_ok| #capture)
            }}
        }
        None => quote!(::onex_events::__private::core::option::Option::None),
    };

    quote! {
        #(#attrs)*
        #vis #defaultness #sig {
            static __ONEX_OPERATION: ::onex_events::__private::OperationDescriptor =
                ::onex_events::__private::OperationDescriptor {
                    operation: #name,
                    started: ::onex_events::__private::EventType::__new(
                        #started, #node_type,
                        ::onex_events::__private::core::option::Option::Some(#name),
                        ::onex_events::__private::Stage::Started,
                    ),
                    completed: ::onex_events::__private::EventType::__new(
                        #completed, #node_type,
                        ::onex_events::__private::core::option::Option::Some(#name),
                        ::onex_events::__private::Stage::Completed,
                    ),
                    failed: ::onex_events::__private::EventType::__new(
                        #failed, #node_type,
                        ::onex_events::__private::core::option::Option::Some(#name),
                        ::onex_events::__private::Stage::Failed,
                    ),
                    args: &[#(#arg_specs),*],
                };
            let mut __onex_guard = ::onex_events::__private::OperationGuard::#start(
                ::onex_events::__private::OnexNode::onex_context(#ctx),
                &__ONEX_OPERATION,
                ::onex_events::__private::Input::summary(__ONEX_OPERATION.args) #(#values)*,
            );
            #[allow(clippy::let_unit_value)]
            let __onex_ret = ::onex_events::__private::Instrumented::new(
                &mut __onex_guard,
                #body,
            )
            .await;
            {
                #[allow(unused_imports)]
                use ::onex_events::__private::outcome::{
                    ViaAnyResult as _, ViaDebug as _,
                    ViaDisplay as _, ViaDynError as _, ViaDynErrorSendSync as _,
                    ViaStdError as _, ViaValue as _,
                };
                let __onex_outcome =
                    (&&&&&&::onex_events::__private::outcome::Wrap(&__onex_ret)).__onex_outcome();
                let __onex_value = #ret;
                __onex_guard.finish(__onex_outcome, __onex_value);
            }
            __onex_ret
        }
    }
}
