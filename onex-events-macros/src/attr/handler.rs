//! `#[onex_handler(..)]`: the event types a handler takes, and how it runs.

use super::{assign, kw, name_span, set};
use proc_macro2::Span;
use syn::parse::{Parse, ParseStream};
use syn::{Error, Ident, LitBool, LitInt, LitStr, Result, Token};

/// `#[onex_handler("a.b.c", "d.e.f", name = "..", lifecycle = false,
/// attempts = 3, backoff_ms = 100, max_backoff_ms = 10000, timeout_ms = 5000,
/// payload)]`, or `#[onex_handler(any, ..)]` for a catch-all.
pub struct HandlerAttr {
    /// Span of the attribute's name (`onex_handler`).
    pub span: Span,
    /// The event types, in order (checked by `valid`).
    pub event_types: Vec<LitStr>,
    /// Declared event types named by their Rust type (`UserCreated`).
    pub event_paths: Vec<syn::Path>,
    /// `any`: the catch-all.
    pub any: Option<kw::any>,
    pub name: Option<LitStr>,
    pub lifecycle: Option<LitBool>,
    pub attempts: Option<LitInt>,
    pub backoff_ms: Option<LitInt>,
    pub max_backoff_ms: Option<LitInt>,
    pub timeout_ms: Option<LitInt>,
    pub payload: Option<kw::payload>,
}

const HANDLER_OPTIONS: &str = "expected `name = \"..\"`, `lifecycle = bool`, `attempts = N`, `backoff_ms = N`, `max_backoff_ms = N`, `timeout_ms = N` or `payload`";

impl HandlerAttr {
    fn empty(span: Span) -> Self {
        HandlerAttr {
            span,
            event_types: Vec::new(),
            event_paths: Vec::new(),
            any: None,
            name: None,
            lifecycle: None,
            attempts: None,
            backoff_ms: None,
            max_backoff_ms: None,
            timeout_ms: None,
            payload: None,
        }
    }

    /// Parses the arguments of one `#[onex_handler(..)]` attribute.
    pub fn from_attribute(attr: &syn::Attribute) -> Result<Self> {
        match &attr.meta {
            syn::Meta::Path(path) => Ok(HandlerAttr::empty(name_span(path))),
            syn::Meta::List(list) => {
                let mut parsed: HandlerAttr = list.parse_args()?;
                parsed.span = name_span(&list.path);
                Ok(parsed)
            }
            syn::Meta::NameValue(nv) => Err(Error::new_spanned(
                nv,
                "expected `#[onex_handler(\"node_type.operation.stage\", ..)]`",
            )),
        }
    }
}

impl Parse for HandlerAttr {
    fn parse(input: ParseStream) -> Result<Self> {
        let mut attr = HandlerAttr::empty(input.span());
        // The event types (or `any`) first.
        let mut options = false;
        while !input.is_empty() {
            let lookahead = input.lookahead1();
            if lookahead.peek(LitStr) {
                let lit: LitStr = input.parse()?;
                if options {
                    return Err(Error::new(
                        lit.span(),
                        "the event types come first: `#[onex_handler(\"a.b.c\", \"d.e.f\", name = \"..\")]`",
                    ));
                }
                attr.event_types.push(lit);
            } else if lookahead.peek(kw::any) && !input.peek2(Token![=]) {
                let k: kw::any = input.parse()?;
                if options {
                    return Err(Error::new(
                        k.span,
                        "`any` comes first: `#[onex_handler(any, name = \"..\")]`",
                    ));
                }
                set(&mut attr.any, k, "any", k.span)?;
            } else if lookahead.peek(kw::name) {
                let k: kw::name = input.parse()?;
                assign(input, &mut attr.name, "name", k.span)?;
                options = true;
            } else if lookahead.peek(kw::lifecycle) {
                let k: kw::lifecycle = input.parse()?;
                assign(input, &mut attr.lifecycle, "lifecycle", k.span)?;
                options = true;
            } else if lookahead.peek(kw::attempts) {
                let k: kw::attempts = input.parse()?;
                assign(input, &mut attr.attempts, "attempts", k.span)?;
                options = true;
            } else if lookahead.peek(kw::backoff_ms) {
                let k: kw::backoff_ms = input.parse()?;
                assign(input, &mut attr.backoff_ms, "backoff_ms", k.span)?;
                options = true;
            } else if lookahead.peek(kw::max_backoff_ms) {
                let k: kw::max_backoff_ms = input.parse()?;
                assign(input, &mut attr.max_backoff_ms, "max_backoff_ms", k.span)?;
                options = true;
            } else if lookahead.peek(kw::timeout_ms) {
                let k: kw::timeout_ms = input.parse()?;
                assign(input, &mut attr.timeout_ms, "timeout_ms", k.span)?;
                options = true;
            } else if lookahead.peek(kw::payload) {
                let k: kw::payload = input.parse()?;
                set(&mut attr.payload, k, "payload", k.span)?;
                options = true;
            } else if !options && is_type_path(input) {
                attr.event_paths.push(input.parse()?);
            } else if input.peek(Ident) {
                let unknown: Ident = input.parse()?;
                return Err(Error::new(
                    unknown.span(),
                    format!("unknown `onex_handler` option `{unknown}`: {HANDLER_OPTIONS}"),
                ));
            } else {
                return Err(lookahead.error());
            }
            if !input.is_empty() {
                input.parse::<Token![,]>()?;
            }
        }
        Ok(attr)
    }
}

/// True if `input` starts with a path to a type (`UserCreated`,
/// `events::UserCreated`: its last segment capitalized) not followed by `=`:
/// a declared event named by its type.
fn is_type_path(input: ParseStream) -> bool {
    let fork = input.fork();
    match fork.call(syn::Path::parse_mod_style) {
        Ok(path) => {
            !fork.peek(Token![=])
                && path.segments.last().is_some_and(|s| {
                    s.ident
                        .to_string()
                        .starts_with(|c: char| c.is_ascii_uppercase())
                })
        }
        Err(_) => false,
    }
}

/// True if `attr` is `#[onex_handler]` or `#[onex_events::onex_handler]`.
pub fn is_handler_attr(attr: &syn::Attribute) -> bool {
    attr.path()
        .segments
        .last()
        .is_some_and(|s| s.ident == "onex_handler")
}
