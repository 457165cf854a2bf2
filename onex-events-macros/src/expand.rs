//! Code generation for `#[onex_node]`: each operation's body runs inside the
//! runtime's guard. The declaring block's catalog literal is emitted once, in
//! the node's registry entry, with its `NodeDescriptor` impl and
//! `EVENT_CATALOG`; an `extend` block's operations each add a registry
//! entry of their own that joins the node's catalog at first use.

use crate::ast::{Body, Node, Operation};
use crate::attr::{is_operation_attr, CratePath, NodeAttr};
use crate::fallback;
use crate::handlers;
use crate::names::type_string;
use proc_macro2::{Span, TokenStream, TokenTree};
use quote::{format_ident, quote, quote_spanned, ToTokens};
use syn::spanned::Spanned;
use syn::{ImplItem, ItemImpl, ReturnType, Type};

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
    let attr = match NodeAttr::parse(args.clone()) {
        Ok(attr) => attr,
        Err(e) => {
            // Unparsed arguments: guess from them whether this block
            // declares the node, so its stubs do not clash with the real
            // declaration.
            let extend = args
                .into_iter()
                .any(|t| matches!(t, TokenTree::Ident(i) if i == "extend"));
            return fallback::node(&item, e, &CratePath::private(None), extend);
        }
    };
    let k = CratePath::private(attr.krate.as_ref());
    let extend = attr.extend.is_some();
    let result = Node::from_syn(attr, &item).and_then(|node| {
        node.validate()?;
        Ok(generate(&node))
    });
    match result {
        Ok(tokens) => tokens,
        Err(e) => fallback::node(&item, e, &k, extend),
    }
}

/// Where an operation's node type comes from.
enum Site {
    /// The block that declares the node: the node type is known here.
    Declaration { node_type: String },
    /// An `extend` block: the node type is `<Node as NodeDescriptor>::NODE_TYPE`.
    Extension,
}

fn generate(node: &Node) -> TokenStream {
    let k = CratePath::private(node.attr.krate.as_ref());
    let item = node.item;
    let self_ty = &item.self_ty;
    let (impl_generics, _, where_clause) = item.generics.split_for_impl();
    let site = match &node.attr.extend {
        Some(_) => Site::Extension,
        None => Site::Declaration {
            node_type: node
                .attr
                .node_type
                .as_ref()
                .map(|l| l.value())
                .unwrap_or_default(),
        },
    };

    let mut rewritten = item.clone();
    for op in &node.operations {
        rewritten.items[op.index] = ImplItem::Verbatim(operation(op, &site, &k, self_ty));
    }
    if let Site::Declaration { node_type } = &site {
        for h in &node.handlers {
            rewritten.items[h.index] = ImplItem::Verbatim(handlers::method(h, node_type, &k));
        }
    }

    // One inherent associated const per operation: the same operation in
    // two blocks of one node is E0592 (duplicate definitions) at both names.
    let markers = node.operations.iter().filter_map(|op| {
        let lit = op.attr.name.as_ref()?;
        let ident = format_ident!("__onex_operation_{}", lit.value(), span = lit.span());
        Some(quote_spanned! {lit.span()=>
            #[doc(hidden)]
            #[allow(dead_code, non_upper_case_globals)]
            const #ident: () = ();
        })
    });
    // A handler is an operation of the node: its name is taken too.
    let handler_markers = node.handlers.iter().map(|h| {
        let span = h.name_span();
        let ident = format_ident!("__onex_operation_{}", h.name(), span = span);
        quote_spanned! {span=>
            #[doc(hidden)]
            #[allow(dead_code, non_upper_case_globals)]
            const #ident: () = ();
        }
    });

    let declaration = match &site {
        Site::Extension => None,
        Site::Declaration { node_type } => {
            let catalog = catalog(node, node_type);
            let event_handlers = handlers::event_handlers(item, &node.handlers, &k);
            Some(quote! {
                /// The event catalog of this node: the operations of all its blocks.
                #[allow(dead_code)]
                pub const EVENT_CATALOG: #k::NodeCatalog = #k::NodeCatalog::of::<Self>();
            })
            .map(|tokens| {
                (
                    tokens,
                    quote! {
                        const _: () = {
                            #[#k::linkme::distributed_slice(#k::NODES)]
                            #[linkme(crate = #k::linkme)]
                            static __ONEX_NODE: #k::NodeEntry = #k::NodeEntry::new(#catalog);

                            impl #impl_generics #k::NodeDescriptor for #self_ty #where_clause {
                                const NODE_TYPE: &'static str = #node_type;
                                fn __entry() -> &'static #k::NodeEntry {
                                    &__ONEX_NODE
                                }
                            }
                        };

                        #event_handlers
                    },
                )
            })
        }
    };
    let (catalog_const, registry) = declaration.unzip();

    quote! {
        #rewritten

        impl #impl_generics #self_ty #where_clause {
            #catalog_const
            #(#markers)*
            #(#handler_markers)*
        }

        #registry
    }
}

fn catalog(node: &Node, node_type: &str) -> TokenStream {
    let attr = &node.attr;
    let service = attr
        .service
        .as_ref()
        .map_or_else(|| node_type.to_owned(), |l| l.value());
    let namespace = attr
        .namespace
        .as_ref()
        .map_or_else(|| "onex".to_owned(), |l| l.value());
    // Operations and handlers with lifecycle events, in source order.
    let mut named: Vec<(usize, String)> = node
        .operations
        .iter()
        .filter_map(|op| op.attr.name.as_ref().map(|l| (op.index, l.value())))
        .chain(
            node.handlers
                .iter()
                .filter(|h| h.lifecycle())
                .map(|h| (h.index, h.name())),
        )
        .collect();
    named.sort_by_key(|(index, _)| *index);
    let ops: Vec<String> = named.into_iter().map(|(_, name)| name).collect();
    let mut consumed: Vec<String> = Vec::new();
    for lit in node.handlers.iter().flat_map(|h| &h.attr.event_types) {
        if !consumed.contains(&lit.value()) {
            consumed.push(lit.value());
        }
    }
    let consumes_any = node.handlers.iter().any(|h| h.attr.any.is_some());
    let lifecycle = ops.iter().flat_map(|op| {
        ["started", "completed", "failed"].map(|stage| format!("{node_type}.{op}.{stage}"))
    });
    let flag = |f: &Option<syn::LitBool>| f.as_ref().is_none_or(|b| b.value);
    let state = flag(&attr.include_state_events)
        .then(|| format!("{node_type}.state.changed"))
        .into_iter();
    let metric = flag(&attr.include_metric_events)
        .then(|| format!("{node_type}.metric.recorded"))
        .into_iter();
    let rust_type = type_string(&node.item.self_ty);
    let k = CratePath::private(attr.krate.as_ref());
    quote! {
        #k::Catalog {
            node_type: #node_type,
            rust_type: #k::core::concat!(#k::core::module_path!(), "::", #rust_type),
            service: #service,
            namespace: #namespace,
            operations: &[#(#ops),*],
            operation_lifecycle: &[#(#lifecycle),*],
            state_events: &[#(#state),*],
            metric_events: &[#(#metric),*],
            consumed_events: &[#(#consumed),*],
            consumes_any: #consumes_any,
        }
    }
}

/// A statement that never runs but tells type inference that the `async`
/// block holding it returns `ty`, so `return` and `?` in the user's body
/// work as in the method; none for a type with `impl Trait` in it.
pub(crate) fn fake_return(ty: &TokenStream, span: Span) -> Option<TokenStream> {
    (!contains_impl_trait(ty)).then(|| {
        quote_spanned! {span=>
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
    })
}

/// `tokens` with every span set to `span`.
pub(crate) fn respan(tokens: &TokenStream, span: Span) -> TokenStream {
    tokens
        .clone()
        .into_iter()
        .map(|mut tt| {
            if let TokenTree::Group(g) = &tt {
                let mut group = proc_macro2::Group::new(g.delimiter(), respan(&g.stream(), span));
                group.set_span(span);
                tt = TokenTree::Group(group);
            } else {
                tt.set_span(span);
            }
            tt
        })
        .collect()
}

fn contains_impl_trait(ty: &TokenStream) -> bool {
    fn walk(tokens: TokenStream) -> bool {
        tokens.into_iter().any(|tt| match tt {
            TokenTree::Ident(i) => i == "impl",
            TokenTree::Group(g) => walk(g.stream()),
            _ => false,
        })
    }
    walk(ty.clone())
}

fn operation(op: &Operation, site: &Site, k: &TokenStream, self_ty: &Type) -> TokenStream {
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

    let instrumented = quote! {
        #statics
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
