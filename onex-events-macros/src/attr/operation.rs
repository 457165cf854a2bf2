//! `#[onex_operation(..)]`: what an operation records, and the declared
//! events it publishes when it ends.

use super::{kw, name_span, set};
use proc_macro2::Span;
use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::{Error, Ident, LitStr, Result, Token};

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

/// True if `attr` is `#[onex_operation]` or `#[onex_events::onex_operation]`.
pub fn is_operation_attr(attr: &syn::Attribute) -> bool {
    attr.path()
        .segments
        .last()
        .is_some_and(|s| s.ident == "onex_operation")
}
