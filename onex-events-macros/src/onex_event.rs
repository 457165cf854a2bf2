//! `#[derive(OnexEvent)]`: a struct declared as an event type, with
//! `#[onex_event("aggregate.event", kind = "..", ..)]` on the struct and
//! `#[onex_event(id)]` on the field holding its id.

use crate::attr::CratePath;
use crate::names::is_segment;
use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{Data, DeriveInput, Error, Fields, LitStr, Result};

/// `#[onex_event("user.created", kind = "domain", aggregate_type = "user")]`.
#[derive(Default)]
struct EventAttr {
    name: Option<LitStr>,
    kind: Option<LitStr>,
    /// `aggregate_type`, `action`, `resource_type`, `recipient_type`.
    attributes: Vec<(&'static str, LitStr)>,
    krate: Option<CratePath>,
}

const ATTRIBUTES: [(&str, &str); 4] = [
    ("aggregate_type", "domain"),
    ("action", "audit"),
    ("resource_type", "audit"),
    ("recipient_type", "notification"),
];

const OPTIONS: &str = "expected the event type first, then `kind = \"domain\"|\"audit\"|\"notification\"|\"my_kind\"`, `aggregate_type = \"..\"`, `action = \"..\"`, `resource_type = \"..\"`, `recipient_type = \"..\"` or `crate = path`";

fn parse_attr(input: &DeriveInput) -> Result<EventAttr> {
    let mut attr = EventAttr::default();
    let mut seen = false;
    for a in input
        .attrs
        .iter()
        .filter(|a| a.path().is_ident("onex_event"))
    {
        if seen {
            return Err(Error::new_spanned(
                a,
                "`#[onex_event(..)]` is given more than once",
            ));
        }
        seen = true;
        a.parse_args_with(|p: syn::parse::ParseStream| {
            if p.peek(LitStr) {
                attr.name = Some(p.parse()?);
                if !p.is_empty() {
                    p.parse::<syn::Token![,]>()?;
                }
            }
            while !p.is_empty() {
                if p.peek(syn::Token![crate]) {
                    p.parse::<syn::Token![crate]>()?;
                    p.parse::<syn::Token![=]>()?;
                    attr.krate = Some(CratePath::parse_value(p)?);
                } else {
                    let key: syn::Ident = p.parse()?;
                    p.parse::<syn::Token![=]>()?;
                    let value: LitStr = p.parse()?;
                    let name = key.to_string();
                    if name == "kind" {
                        if attr.kind.is_some() {
                            return Err(Error::new(key.span(), "`kind` is given more than once"));
                        }
                        attr.kind = Some(value);
                    } else if let Some((known, _)) = ATTRIBUTES.iter().find(|(n, _)| *n == name) {
                        if attr.attributes.iter().any(|(n, _)| n == known) {
                            return Err(Error::new(
                                key.span(),
                                format!("`{name}` is given more than once"),
                            ));
                        }
                        attr.attributes.push((known, value));
                    } else {
                        return Err(Error::new(
                            key.span(),
                            format!("unknown `onex_event` option `{name}`: {OPTIONS}"),
                        ));
                    }
                }
                if !p.is_empty() {
                    p.parse::<syn::Token![,]>()?;
                }
            }
            Ok(())
        })?;
    }
    if !seen {
        return Err(Error::new(
            input.ident.span(),
            "`#[derive(OnexEvent)]` needs `#[onex_event(\"aggregate.event\", kind = \"domain\", ..)]` on the struct",
        ));
    }
    Ok(attr)
}

/// The checks of the event type name and the kind's attributes.
fn validate(attr: &EventAttr, span: Span) -> Result<(String, String)> {
    let Some(name) = &attr.name else {
        return Err(Error::new(
            span,
            "the event type comes first: `#[onex_event(\"user.created\", kind = \"domain\", ..)]`",
        ));
    };
    let value = name.value();
    let segments: Vec<&str> = value.split('.').collect();
    if segments.len() < 2 || !segments.iter().all(|s| is_segment(s)) {
        return Err(Error::new(
            name.span(),
            format!("the event type `{value}` must be two or more lowercase snake_case segments joined by `.`, e.g. `user.created`"),
        ));
    }
    let standard = matches!(
        segments.as_slice(),
        [_, "state", "changed"]
            | [_, "metric", "recorded"]
            | [_, _, "started" | "completed" | "failed"]
    );
    if standard {
        return Err(Error::new(
            name.span(),
            format!("`{value}` has the shape of a lifecycle, state or metric event, which `#[onex_node]` publishes: name the event apart"),
        ));
    }
    let Some(kind) = &attr.kind else {
        return Err(Error::new(
            name.span(),
            "`kind` is required: `kind = \"domain\"`, `\"audit\"`, `\"notification\"` or a lowercase snake_case kind of your own",
        ));
    };
    let kind_value = kind.value();
    if !is_segment(&kind_value) {
        return Err(Error::new(
            kind.span(),
            format!("the kind `{kind_value}` must be lowercase snake_case"),
        ));
    }
    for (attribute, lit) in &attr.attributes {
        let (_, owner) = ATTRIBUTES
            .iter()
            .find(|(n, _)| n == attribute)
            .copied()
            .unwrap_or_default();
        if owner != kind_value {
            return Err(Error::new(
                lit.span(),
                format!("`{attribute}` is for `kind = \"{owner}\"` events"),
            ));
        }
        if lit.value().is_empty() {
            return Err(Error::new(
                lit.span(),
                format!("`{attribute}` cannot be empty"),
            ));
        }
    }
    let required: &[&str] = match kind_value.as_str() {
        "domain" => &["aggregate_type"],
        "audit" => &["action", "resource_type"],
        _ => &[],
    };
    for r in required {
        if !attr.attributes.iter().any(|(n, _)| n == r) {
            return Err(Error::new(
                kind.span(),
                format!("a `{kind_value}` event needs `{r} = \"..\"`"),
            ));
        }
    }
    Ok((value, kind_value))
}

/// The field marked `#[onex_event(id)]`, if any.
fn id_field(input: &DeriveInput) -> Result<Option<(syn::Member, &syn::Type)>> {
    let Data::Struct(data) = &input.data else {
        return Err(Error::new(
            input.ident.span(),
            "`#[derive(OnexEvent)]` is for structs",
        ));
    };
    if !matches!(data.fields, Fields::Named(_)) {
        return Err(Error::new(
            input.ident.span(),
            "`#[derive(OnexEvent)]` is for structs with named fields: the payload is a JSON object",
        ));
    }
    let mut found = None;
    for field in &data.fields {
        for a in field
            .attrs
            .iter()
            .filter(|a| a.path().is_ident("onex_event"))
        {
            a.parse_nested_meta(|meta| {
                if meta.path.is_ident("id") {
                    if found.is_some() {
                        return Err(meta.error("only one field can be `#[onex_event(id)]`"));
                    }
                    let ident = field
                        .ident
                        .clone()
                        .ok_or_else(|| meta.error("expected a named field"))?;
                    found = Some((syn::Member::Named(ident), &field.ty));
                    Ok(())
                } else {
                    Err(meta.error(
                        "unknown `onex_event` field attribute: expected `#[onex_event(id)]`",
                    ))
                }
            })?;
        }
    }
    Ok(found)
}

pub fn onex_event(input: TokenStream) -> TokenStream {
    let input: DeriveInput = match syn::parse2(input) {
        Ok(i) => i,
        Err(e) => return e.to_compile_error(),
    };
    match generate(&input) {
        Ok(tokens) => tokens,
        Err(e) => e.to_compile_error(),
    }
}

fn generate(input: &DeriveInput) -> Result<TokenStream> {
    let attr = parse_attr(input)?;
    let (name, kind) = validate(&attr, input.ident.span())?;
    let id = id_field(input)?;
    if !input.generics.params.is_empty() {
        return Err(Error::new(
            input.generics.span(),
            "a declared event cannot be generic: it has one event type and one registry entry",
        ));
    }
    let k = CratePath::private(attr.krate.as_ref());
    let ident = &input.ident;
    let first = name.split('.').next().unwrap_or_default();
    let kind = match kind.as_str() {
        "domain" => quote!(#k::EventKind::Domain),
        "audit" => quote!(#k::EventKind::Audit),
        "notification" => quote!(#k::EventKind::Notification),
        custom => quote!(#k::EventKind::Custom(#custom)),
    };
    let attributes = attr.attributes.iter().map(|(n, v)| quote!((#n, #v)));
    let rust_type = ident.to_string();
    let id = id.map(|(member, ty)| {
        let ks = crate::expand::respan(&k, ty.span());
        let to_string = quote_spanned! {ty.span()=> <#ty as #ks::ToString>::to_string};
        quote! {
            fn id(&self) -> #k::core::option::Option<#k::String> {
                #k::core::option::Option::Some(#to_string(&self.#member))
            }
        }
    });
    let payload_type = crate::payload_type::entry(
        &k,
        &quote!(#name),
        crate::payload_type::Role::Declared,
        &quote!(#ident),
    );
    Ok(quote! {
        impl #k::OnexEvent for #ident {
            const EVENT_TYPE: &'static str = #name;
            const DESCRIPTOR: &'static #k::EventDescriptor = &#k::EventDescriptor {
                event_type: #k::EventType::__new(#name, #first, #k::core::option::Option::None, #k::Stage::Declared),
                kind: #kind,
                rust_type: #k::core::concat!(#k::core::module_path!(), "::", #rust_type),
                attributes: &[#(#attributes),*],
            };
            #id
        }

        const _: () = {
            #[#k::linkme::distributed_slice(#k::DECLARED_EVENTS)]
            #[linkme(crate = #k::linkme)]
            static __ONEX_EVENT: &'static #k::EventDescriptor = <#ident as #k::OnexEvent>::DESCRIPTOR;
        };

        #payload_type
    })
}
