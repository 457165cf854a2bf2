//! Procedural macros of [onex-events](https://docs.rs/onex-events). Depend
//! on `onex-events`, which re-exports them; the generated code reaches the
//! runtime through `::onex_events::__private` (or `path::__private` with
//! `crate = path`, for a renamed dependency).
//!
//! The crate follows thiserror's layout: `attr` parses the attributes,
//! `ast` gathers a typed view of the node borrowing the user's syntax
//! (for spans), `valid` checks every rule, `expand` generates code, and
//! `fallback` emits the user's item unchanged next to `compile_error!` so
//! one mistake gives one error. `handlers` generates the code of
//! `#[onex_handler]` methods and the node's `EventHandlers` impl;
//! `onex_event` is `#[derive(OnexEvent)]`.

#![allow(clippy::manual_let_else)]

mod ast;
mod attr;
mod derive;
mod expand;
mod fallback;
mod handlers;
mod names;
mod onex_event;
mod payload_type;
mod requests;
mod valid;

#[cfg(test)]
mod tests;

use proc_macro::TokenStream;

/// Declares an ONEX node on one of its `impl` blocks, or extends it with
/// another block. See `onex_events::onex_node`.
#[proc_macro_attribute]
pub fn onex_node(args: TokenStream, input: TokenStream) -> TokenStream {
    expand::node(args.into(), input.into()).into()
}

/// Marks an `async` method of an `#[onex_node]` impl block as an operation.
///
/// `#[onex_node]` consumes these attributes; this entry point is reached only
/// when the attribute is used outside a node, which is an error.
#[proc_macro_attribute]
pub fn onex_operation(args: TokenStream, input: TokenStream) -> TokenStream {
    fallback::operation_outside_node(args.into(), input.into()).into()
}

/// Marks an `async` method of an `#[onex_node]` impl block as a handler of
/// incoming events.
///
/// `#[onex_node]` consumes these attributes; this entry point is reached only
/// when the attribute is used outside a node, which is an error.
#[proc_macro_attribute]
pub fn onex_handler(args: TokenStream, input: TokenStream) -> TokenStream {
    fallback::handler_outside_node(args.into(), input.into()).into()
}

/// Implements `onex_events::OnexNode` for a struct with a `NodeContext` field.
#[proc_macro_derive(OnexNode, attributes(onex))]
pub fn derive_onex_node(input: TokenStream) -> TokenStream {
    derive::onex_node(input.into()).into()
}

/// Declares a struct as an event type: implements `onex_events::OnexEvent`
/// and adds it to the program-wide registry. See `onex_events::OnexEvent`.
#[proc_macro_derive(OnexEvent, attributes(onex_event))]
pub fn derive_onex_event(input: TokenStream) -> TokenStream {
    onex_event::onex_event(input.into()).into()
}
