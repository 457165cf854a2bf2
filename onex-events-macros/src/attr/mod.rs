//! Parsing of `#[onex_node(..)]`, `#[onex_operation(..)]` and
//! `#[onex_handler(..)]` arguments, keeping every span; unknown and
//! repeated options are rejected here. One file per attribute; the
//! keywords and the helpers they share are here.

mod handler;
mod node;
mod operation;

pub use handler::{is_handler_attr, HandlerAttr};
pub use node::{CratePath, NodeAttr};
pub use operation::{is_operation_attr, IdSource, OperationAttr, Publish};

use proc_macro2::Span;
use syn::parse::{Parse, ParseStream};
use syn::{Error, Result, Token};

pub(crate) mod kw {
    syn::custom_keyword!(node_type);
    syn::custom_keyword!(service);
    syn::custom_keyword!(namespace);
    syn::custom_keyword!(include_state_events);
    syn::custom_keyword!(include_metric_events);
    syn::custom_keyword!(fields);
    syn::custom_keyword!(skip);
    syn::custom_keyword!(skip_all);
    syn::custom_keyword!(ret);
    syn::custom_keyword!(extend);
    syn::custom_keyword!(any);
    syn::custom_keyword!(name);
    syn::custom_keyword!(lifecycle);
    syn::custom_keyword!(attempts);
    syn::custom_keyword!(backoff_ms);
    syn::custom_keyword!(max_backoff_ms);
    syn::custom_keyword!(timeout_ms);
    syn::custom_keyword!(payload);
    syn::custom_keyword!(events);
    syn::custom_keyword!(publish_on_success);
    syn::custom_keyword!(publish_on_error);
    syn::custom_keyword!(domain_event);
    syn::custom_keyword!(audit_event);
    syn::custom_keyword!(id);
    syn::custom_keyword!(requests);
}

pub(crate) fn set<T>(slot: &mut Option<T>, value: T, name: &str, span: Span) -> Result<()> {
    if slot.is_some() {
        return Err(Error::new(
            span,
            format!("`{name}` is given more than once"),
        ));
    }
    *slot = Some(value);
    Ok(())
}

/// `= value` of option `name` (whose keyword is at `span`), into `slot`.
pub(crate) fn assign<T: Parse>(
    input: ParseStream,
    slot: &mut Option<T>,
    name: &str,
    span: Span,
) -> Result<()> {
    input.parse::<Token![=]>()?;
    let value = input.parse()?;
    set(slot, value, name, span)
}

/// The span of the last segment of `path` (`onex_operation` in
/// `onex_events::onex_operation`).
pub(crate) fn name_span(path: &syn::Path) -> Span {
    path.segments
        .last()
        .map_or_else(|| syn::spanned::Spanned::span(path), |s| s.ident.span())
}

/// True if `attr` is one of the attributes `#[onex_node]` consumes on its
/// methods.
pub fn is_method_attr(attr: &syn::Attribute) -> bool {
    is_operation_attr(attr) || is_handler_attr(attr)
}
