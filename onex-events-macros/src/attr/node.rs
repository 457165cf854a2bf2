//! `#[onex_node(..)]`: the block that declares a node, or extends one.

use super::{kw, set};
use proc_macro2::TokenStream;
use syn::parse::{Parse, ParseStream, Parser};
use syn::punctuated::Punctuated;
use syn::{Error, Ident, LitBool, LitStr, Result, Token};

/// `#[onex_node("orchestrator", service = "..", namespace = "..",
/// include_state_events = true, include_metric_events = true)]`, the block
/// that declares the node; the node type may also be given as
/// `node_type = ".."`; `requests("codegen.request.validate", ..)` lists the
/// requests the node sends. `#[onex_node(extend)]` marks another block of a
/// node declared elsewhere. Either may say `crate = path`.
#[derive(Default)]
pub struct NodeAttr {
    pub node_type: Option<LitStr>,
    pub service: Option<LitStr>,
    pub namespace: Option<LitStr>,
    pub include_state_events: Option<LitBool>,
    pub include_metric_events: Option<LitBool>,
    pub extend: Option<kw::extend>,
    pub krate: Option<CratePath>,
    /// `events(UserCreated, ..)`: declared events the node publishes.
    pub events: Option<(kw::events, Vec<syn::Path>)>,
    /// `requests("a.request.b", ..)`: the request types the node sends.
    pub requests: Option<(kw::requests, Vec<LitStr>)>,
}

/// `crate = path` or `crate = "path"`: where the runtime crate is, for a
/// user who renamed the `onex-events` dependency.
pub struct CratePath {
    pub path: syn::Path,
}

impl CratePath {
    /// Parses the value after `crate =`.
    pub fn parse_value(input: ParseStream) -> Result<Self> {
        const HINT: &str =
            "`crate` takes a path to the onex-events crate: `crate = my_events` or `crate = \"my_events\"`";
        let path = if input.peek(LitStr) {
            let lit: LitStr = input.parse()?;
            lit.parse::<syn::Path>()
                .map_err(|_| Error::new(lit.span(), HINT))?
        } else {
            input
                .call(syn::Path::parse_mod_style)
                .map_err(|e| Error::new(e.span(), HINT))?
        };
        Ok(CratePath { path })
    }

    /// The runtime's `__private` module through `krate`, else `::onex_events`.
    pub fn private(krate: Option<&CratePath>) -> TokenStream {
        match krate {
            Some(k) => {
                let path = &k.path;
                quote::quote!(#path::__private)
            }
            None => quote::quote!(::onex_events::__private),
        }
    }
}

const NODE_OPTIONS: &str =
    "expected `node_type = \"..\"`, `service = \"..\"`, `namespace = \"..\"`, `include_state_events = bool`, `include_metric_events = bool`, `events(EventType, ..)`, `requests(\"..\", ..)`, `extend` or `crate = path`";

/// `(A, b::C)`: a list of paths to event types.
fn paths(input: ParseStream) -> Result<Vec<syn::Path>> {
    let content;
    syn::parenthesized!(content in input);
    let list = Punctuated::<syn::Path, Token![,]>::parse_terminated(&content)?;
    Ok(list.into_iter().collect())
}

impl NodeAttr {
    pub fn parse(args: TokenStream) -> Result<Self> {
        let mut attr = NodeAttr::default();
        let parser = |input: ParseStream| -> Result<()> {
            let mut first = true;
            while !input.is_empty() {
                let lookahead = input.lookahead1();
                if first && lookahead.peek(LitStr) {
                    let lit: LitStr = input.parse()?;
                    let span = lit.span();
                    set(&mut attr.node_type, lit, "node_type", span)?;
                } else if lookahead.peek(kw::node_type) {
                    let k: kw::node_type = input.parse()?;
                    input.parse::<Token![=]>()?;
                    set(&mut attr.node_type, input.parse()?, "node_type", k.span)?;
                } else if lookahead.peek(kw::service) {
                    let k: kw::service = input.parse()?;
                    input.parse::<Token![=]>()?;
                    set(&mut attr.service, input.parse()?, "service", k.span)?;
                } else if lookahead.peek(kw::namespace) {
                    let k: kw::namespace = input.parse()?;
                    input.parse::<Token![=]>()?;
                    set(&mut attr.namespace, input.parse()?, "namespace", k.span)?;
                } else if lookahead.peek(kw::include_state_events) {
                    let k: kw::include_state_events = input.parse()?;
                    input.parse::<Token![=]>()?;
                    let v = input.parse()?;
                    set(
                        &mut attr.include_state_events,
                        v,
                        "include_state_events",
                        k.span,
                    )?;
                } else if lookahead.peek(kw::include_metric_events) {
                    let k: kw::include_metric_events = input.parse()?;
                    input.parse::<Token![=]>()?;
                    let v = input.parse()?;
                    set(
                        &mut attr.include_metric_events,
                        v,
                        "include_metric_events",
                        k.span,
                    )?;
                } else if lookahead.peek(kw::requests) {
                    let k: kw::requests = input.parse()?;
                    let content;
                    syn::parenthesized!(content in input);
                    let list = content.parse_terminated(<LitStr as Parse>::parse, Token![,])?;
                    set(
                        &mut attr.requests,
                        (k, list.into_iter().collect()),
                        "requests",
                        k.span,
                    )?;
                } else if lookahead.peek(kw::extend) {
                    let k: kw::extend = input.parse()?;
                    set(&mut attr.extend, k, "extend", k.span)?;
                } else if lookahead.peek(kw::events) {
                    let k: kw::events = input.parse()?;
                    set(&mut attr.events, (k, paths(input)?), "events", k.span)?;
                } else if lookahead.peek(Token![crate]) {
                    let k: Token![crate] = input.parse()?;
                    input.parse::<Token![=]>()?;
                    let v = CratePath::parse_value(input)?;
                    set(&mut attr.krate, v, "crate", k.span)?;
                } else if input.peek(LitStr) {
                    let lit: LitStr = input.parse()?;
                    return Err(Error::new(
                        lit.span(),
                        "the node type must come first, and only once: `#[onex_node(\"orchestrator\", ..)]`",
                    ));
                } else if first && input.peek(Ident) && !input.peek2(Token![=]) {
                    let unquoted: Ident = input.parse()?;
                    return Err(Error::new(
                        unquoted.span(),
                        format!("the node type comes first, as a string literal: `#[onex_node(\"{unquoted}\", ..)]`"),
                    ));
                } else if input.peek(Ident) {
                    let unknown: Ident = input.parse()?;
                    return Err(Error::new(
                        unknown.span(),
                        format!("unknown `onex_node` option `{unknown}`: {NODE_OPTIONS}"),
                    ));
                } else {
                    return Err(lookahead.error());
                }
                first = false;
                if !input.is_empty() {
                    input.parse::<Token![,]>()?;
                }
            }
            Ok(())
        };
        parser.parse2(args)?;
        Ok(attr)
    }
}
