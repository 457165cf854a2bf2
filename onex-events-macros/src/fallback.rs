//! On error: the user's item, unchanged but for our own attributes, next to
//! `compile_error!`, plus stubs of what we would have generated, so one
//! mistake gives one error and not a cascade.

use crate::attr::is_method_attr;
use proc_macro2::{Span, TokenStream};
use quote::quote;
use syn::{ImplItem, ItemImpl};

/// The input did not even parse as an impl block.
pub fn unparsed(error: syn::Error, input: TokenStream) -> TokenStream {
    let mut tokens = error.to_compile_error();
    tokens.extend(input);
    tokens
}

/// `#[onex_node]` failed: emit the error, the impl without
/// `#[onex_operation]` and `#[onex_handler]` attributes, and stub catalog
/// items (and a stub `EventHandlers` with no handler).
/// `k` is the runtime's `__private` path. An `extend` block gets no stubs:
/// nothing refers to what it would have generated.
pub fn node(item: &ItemImpl, error: syn::Error, k: &TokenStream, extend: bool) -> TokenStream {
    let mut item = item.clone();
    for impl_item in &mut item.items {
        let attrs = match impl_item {
            ImplItem::Const(c) => &mut c.attrs,
            ImplItem::Fn(f) => &mut f.attrs,
            ImplItem::Type(t) => &mut t.attrs,
            ImplItem::Macro(m) => &mut m.attrs,
            _ => continue,
        };
        attrs.retain(|a| !is_method_attr(a));
    }
    let error = error.to_compile_error();
    let stubs = (!extend).then(|| {
        let handlers_stub = crate::handlers::event_handlers(&item, &[], k);
        let self_ty = &item.self_ty;
        let (impl_generics, _, where_clause) = item.generics.split_for_impl();
        let stub = quote! {
            #k::Catalog {
                node_type: "invalid",
                rust_type: "invalid",
                service: "invalid",
                namespace: "invalid",
                operations: &[],
                operation_lifecycle: &[],
                state_events: &[],
                metric_events: &[],
                consumed_events: &[],
                consumes_any: false,
                declared_events: &[],
                requests: &[],
                responses: &[],
            }
        };
        quote! {
            impl #impl_generics #self_ty #where_clause {
                #[allow(dead_code)]
                pub const EVENT_CATALOG: #k::NodeCatalog = #k::NodeCatalog::of::<Self>();
            }
            impl #impl_generics #k::NodeDescriptor for #self_ty #where_clause {
                const NODE_TYPE: &'static str = "invalid";
                fn __entry() -> &'static #k::NodeEntry {
                    static STUB: #k::NodeEntry = #k::NodeEntry::new(#stub);
                    &STUB
                }
            }
            #handlers_stub
        }
    });
    quote! {
        #error
        #item
        #stubs
    }
}

/// `#[onex_operation]` reached on its own: it is not inside `#[onex_node]`.
pub fn operation_outside_node(_args: TokenStream, input: TokenStream) -> TokenStream {
    let error = syn::Error::new(
        Span::call_site(),
        "`#[onex_operation]` must be inside an `#[onex_node]` impl block: put `#[onex_node(\"node_type\")]` on the `impl` that holds this method",
    )
    .to_compile_error();
    quote! {
        #error
        #input
    }
}

/// `#[onex_handler]` reached on its own: it is not inside `#[onex_node]`.
pub fn handler_outside_node(_args: TokenStream, input: TokenStream) -> TokenStream {
    let error = syn::Error::new(
        Span::call_site(),
        "`#[onex_handler]` must be inside an `#[onex_node(\"node_type\")]` impl block: put `#[onex_node(\"node_type\")]` on the `impl` that declares the node and holds this method",
    )
    .to_compile_error();
    quote! {
        #error
        #input
    }
}
