//! Parsing of `#[onex_node(..)]`, `#[onex_operation(..)]` and
//! `#[onex_handler(..)]` arguments, keeping every span; unknown and
//! repeated options are rejected here.

use proc_macro2::{Span, TokenStream};
use syn::parse::{Parse, ParseStream, Parser};
use syn::punctuated::Punctuated;
use syn::{Error, Ident, LitBool, LitInt, LitStr, Result, Token};

mod kw {
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

fn set<T>(slot: &mut Option<T>, value: T, name: &str, span: Span) -> Result<()> {
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
fn assign<T: Parse>(
    input: ParseStream,
    slot: &mut Option<T>,
    name: &str,
    span: Span,
) -> Result<()> {
    input.parse::<Token![=]>()?;
    let value = input.parse()?;
    set(slot, value, name, span)
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

/// `#[onex_operation("name", fields(a, b), skip(c), skip_all, ret)]`.
pub struct OperationAttr {
    /// The operation name; `None` if missing (reported by `valid`).
    pub name: Option<LitStr>,
    /// Span of the attribute's name (`onex_operation`), for errors about
    /// what is missing: on stable Rust the span of the whole attribute would
    /// only cover its `#`.
    pub span: Span,
    pub fields: Option<(kw::fields, Vec<Ident>)>,
    pub skip: Option<(kw::skip, Vec<Ident>)>,
    pub skip_all: Option<kw::skip_all>,
    pub ret: Option<kw::ret>,
    /// `publish_on_success(Event, id = ..)`.
    pub on_success: Option<Publish>,
    /// `publish_on_error(Event, id = ..)`.
    pub on_error: Option<Publish>,
}

/// `publish_on_success(UserCreated, id = user_id)`: a declared event the
/// operation publishes when it ends that way; `domain_event(..)` and
/// `audit_event(..)` are `publish_on_success(..)` of an event of that kind.
pub struct Publish {
    /// The option's keyword.
    pub span: Span,
    /// The kind `domain_event(..)` or `audit_event(..)` requires.
    pub kind: Option<&'static str>,
    pub event: syn::Path,
    /// `id = ..`; `None`: the event's own `#[onex_event(id)]` field.
    pub id: Option<IdSource>,
}

/// Where `id = ..` takes the event's id from.
pub enum IdSource {
    /// `id = user_id`: an argument, captured before the body runs.
    Arg(Ident),
    /// `id = ret` or `id = ret.user.id`: the returned value (the `Ok` value
    /// of a `Result`), or a field of it.
    Ret {
        span: Span,
        fields: Vec<syn::Member>,
    },
}

impl Publish {
    fn parse(span: Span, kind: Option<&'static str>, input: ParseStream) -> Result<Self> {
        let content;
        syn::parenthesized!(content in input);
        let event: syn::Path = content.parse()?;
        let mut id = None;
        if !content.is_empty() {
            content.parse::<Token![,]>()?;
        }
        if !content.is_empty() {
            let k: kw::id = content.parse().map_err(|e| {
                Error::new(
                    e.span(),
                    "expected `id = argument` or `id = ret` after the event type",
                )
            })?;
            content.parse::<Token![=]>()?;
            if content.peek(kw::ret) {
                let r: kw::ret = content.parse()?;
                let mut fields = Vec::new();
                while content.peek(Token![.]) {
                    content.parse::<Token![.]>()?;
                    fields.push(content.parse()?);
                }
                id = Some(IdSource::Ret {
                    span: r.span,
                    fields,
                });
            } else {
                id = Some(IdSource::Arg(content.parse()?));
            }
            let _ = k;
            if !content.is_empty() {
                content.parse::<Token![,]>()?;
            }
            if !content.is_empty() {
                return Err(
                    content.error("expected `)`: `id` is the only option after the event type")
                );
            }
        }
        Ok(Publish {
            span,
            kind,
            event,
            id,
        })
    }
}

const OPERATION_OPTIONS: &str = "expected `fields(arg, ..)`, `skip(arg, ..)`, `skip_all`, `ret`, `publish_on_success(Event, id = ..)`, `publish_on_error(Event, id = ..)`, `domain_event(Event, id = ..)` or `audit_event(Event, id = ..)`";

fn idents(input: ParseStream) -> Result<Vec<Ident>> {
    let content;
    syn::parenthesized!(content in input);
    let list = Punctuated::<Ident, Token![,]>::parse_terminated_with(&content, |c| {
        // Accept `self` too, so `valid` can explain that it is never recorded.
        if c.peek(Token![self]) {
            let s: Token![self] = c.parse()?;
            Ok(Ident::new("self", s.span))
        } else {
            c.parse()
        }
    })?;
    Ok(list.into_iter().collect())
}

impl Parse for OperationAttr {
    fn parse(input: ParseStream) -> Result<Self> {
        let mut attr = OperationAttr {
            name: None,
            span: input.span(),
            fields: None,
            skip: None,
            skip_all: None,
            ret: None,
            on_success: None,
            on_error: None,
        };
        if input.peek(LitStr) {
            attr.name = Some(input.parse()?);
            if !input.is_empty() {
                input.parse::<Token![,]>()?;
            }
        }
        let mut first = attr.name.is_none();
        while !input.is_empty() {
            let lookahead = input.lookahead1();
            if lookahead.peek(kw::fields) {
                let k: kw::fields = input.parse()?;
                set(&mut attr.fields, (k, idents(input)?), "fields", k.span)?;
            } else if lookahead.peek(kw::skip_all) {
                let k: kw::skip_all = input.parse()?;
                set(&mut attr.skip_all, k, "skip_all", k.span)?;
            } else if lookahead.peek(kw::skip) {
                let k: kw::skip = input.parse()?;
                set(&mut attr.skip, (k, idents(input)?), "skip", k.span)?;
            } else if lookahead.peek(kw::ret) {
                let k: kw::ret = input.parse()?;
                set(&mut attr.ret, k, "ret", k.span)?;
            } else if lookahead.peek(kw::publish_on_success)
                || lookahead.peek(kw::domain_event)
                || lookahead.peek(kw::audit_event)
            {
                // `domain_event(..)` and `audit_event(..)` (seed 003's
                // decorators) are `publish_on_success(..)` of that kind.
                let k: Ident = input.call(syn::ext::IdentExt::parse_any)?;
                let kind = match k.to_string().as_str() {
                    "domain_event" => Some("domain"),
                    "audit_event" => Some("audit"),
                    _ => None,
                };
                let p = Publish::parse(k.span(), kind, input)?;
                if attr.on_success.is_some() {
                    return Err(Error::new(
                        k.span(),
                        "an operation publishes one event on success: `publish_on_success`, `domain_event` and `audit_event` are given once in all",
                    ));
                }
                attr.on_success = Some(p);
            } else if lookahead.peek(kw::publish_on_error) {
                let k: kw::publish_on_error = input.parse()?;
                let p = Publish::parse(k.span, None, input)?;
                set(&mut attr.on_error, p, "publish_on_error", k.span)?;
            } else if input.peek(LitStr) {
                let lit: LitStr = input.parse()?;
                return Err(Error::new(
                    lit.span(),
                    "the operation name must come first, and only once",
                ));
            } else if first && input.peek(Ident) && !input.peek2(syn::token::Paren) {
                // `#[onex_operation(orchestration)]`: a name left unquoted.
                let unquoted: Ident = input.parse()?;
                return Err(Error::new(
                    unquoted.span(),
                    format!("the operation name comes first, as a string literal: `#[onex_operation(\"{unquoted}\", ..)]`"),
                ));
            } else if input.peek(Ident) {
                let unknown: Ident = input.parse()?;
                return Err(Error::new(
                    unknown.span(),
                    format!("unknown `onex_operation` option `{unknown}`: {OPERATION_OPTIONS}"),
                ));
            } else {
                return Err(lookahead.error());
            }
            first = false;
            if !input.is_empty() {
                input.parse::<Token![,]>()?;
            }
        }
        Ok(attr)
    }
}

impl OperationAttr {
    /// Parses the arguments of one `#[onex_operation(..)]` attribute.
    pub fn from_attribute(attr: &syn::Attribute) -> Result<Self> {
        match &attr.meta {
            syn::Meta::Path(path) => Ok(OperationAttr {
                name: None,
                span: name_span(path),
                fields: None,
                skip: None,
                skip_all: None,
                ret: None,
                on_success: None,
                on_error: None,
            }),
            syn::Meta::List(list) => {
                let mut parsed: OperationAttr = list.parse_args()?;
                parsed.span = name_span(&list.path);
                Ok(parsed)
            }
            syn::Meta::NameValue(nv) => Err(Error::new_spanned(
                nv,
                "expected `#[onex_operation(\"operation_name\", ..)]`",
            )),
        }
    }
}

/// The span of the last segment of `path` (`onex_operation` in
/// `onex_events::onex_operation`).
fn name_span(path: &syn::Path) -> Span {
    path.segments
        .last()
        .map_or_else(|| syn::spanned::Spanned::span(path), |s| s.ident.span())
}

/// True if `attr` is `#[onex_operation]` or `#[onex_events::onex_operation]`.
pub fn is_operation_attr(attr: &syn::Attribute) -> bool {
    attr.path()
        .segments
        .last()
        .is_some_and(|s| s.ident == "onex_operation")
}

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

/// True if `attr` is one of the attributes `#[onex_node]` consumes on its
/// methods.
pub fn is_method_attr(attr: &syn::Attribute) -> bool {
    is_operation_attr(attr) || is_handler_attr(attr)
}
