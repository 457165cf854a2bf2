//! `#[derive(OnexNode)]`: the node struct hands its `NodeContext` to the
//! generated operations.

use crate::attr::CratePath;
use proc_macro2::TokenStream;
use quote::quote;
use syn::{Data, DeriveInput, Error, Fields, Index, Member, Type};

fn is_context_type(ty: &Type) -> bool {
    match ty {
        Type::Path(p) => p
            .path
            .segments
            .last()
            .is_some_and(|s| s.ident == "NodeContext"),
        _ => false,
    }
}

fn is_context_attr(attr: &syn::Attribute) -> syn::Result<bool> {
    if !attr.path().is_ident("onex") {
        return Ok(false);
    }
    let mut context = false;
    attr.parse_nested_meta(|meta| {
        if meta.path.is_ident("context") {
            context = true;
            Ok(())
        } else {
            Err(meta.error("unknown `onex` field attribute: expected `#[onex(context)]`"))
        }
    })?;
    Ok(context)
}

fn context_member(input: &DeriveInput) -> syn::Result<Member> {
    let fields = match &input.data {
        Data::Struct(s) => &s.fields,
        _ => {
            return Err(Error::new(
                input.ident.span(),
                "`#[derive(OnexNode)]` is for structs with a `NodeContext` field",
            ))
        }
    };
    let member = |i: usize, f: &syn::Field| match &f.ident {
        Some(ident) => Member::Named(ident.clone()),
        None => Member::Unnamed(Index::from(i)),
    };
    let mut marked = Vec::new();
    for (i, f) in fields.iter().enumerate() {
        for attr in &f.attrs {
            if is_context_attr(attr)? {
                marked.push(member(i, f));
            }
        }
    }
    match marked.len() {
        1 => return Ok(marked.remove(0)),
        0 => {}
        _ => {
            return Err(Error::new(
                input.ident.span(),
                "only one field can be `#[onex(context)]`",
            ))
        }
    }
    let typed: Vec<(Member, &syn::Field)> = match fields {
        Fields::Named(_) | Fields::Unnamed(_) => fields
            .iter()
            .enumerate()
            .filter(|(_, f)| is_context_type(&f.ty))
            .map(|(i, f)| (member(i, f), f))
            .collect(),
        Fields::Unit => Vec::new(),
    };
    let mut typed = typed.into_iter();
    match (typed.next(), typed.next()) {
        (Some((member, _)), None) => Ok(member),
        (None, _) => Err(Error::new(
            input.ident.span(),
            "`#[derive(OnexNode)]` needs a field of type `NodeContext`, or one marked `#[onex(context)]`",
        )),
        (Some(_), Some((_, second))) => Err(Error::new_spanned(
            second,
            "several fields have type `NodeContext`: mark the node's own with `#[onex(context)]`",
        )),
    }
}

/// `#[onex(crate = path)]` on the struct, if given.
fn crate_path(input: &DeriveInput) -> syn::Result<Option<CratePath>> {
    let mut krate = None;
    for attr in input.attrs.iter().filter(|a| a.path().is_ident("onex")) {
        attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("crate") {
                krate = Some(CratePath::parse_value(meta.value()?)?);
                Ok(())
            } else {
                Err(meta.error(
                    "unknown `onex` attribute on the node struct: expected `#[onex(crate = path)]`",
                ))
            }
        })?;
    }
    Ok(krate)
}

pub fn onex_node(input: TokenStream) -> TokenStream {
    let input: DeriveInput = match syn::parse2(input) {
        Ok(i) => i,
        Err(e) => return e.to_compile_error(),
    };
    // A bad `crate` is reported, and the impl still written through the
    // default path, so the error is not followed by "OnexNode is not
    // implemented" at every operation.
    let (krate, crate_error) = match crate_path(&input) {
        Ok(krate) => (krate, None),
        Err(e) => (None, Some(e.to_compile_error())),
    };
    let k = CratePath::private(krate.as_ref());
    let name = &input.ident;
    let (impl_generics, ty_generics, where_clause) = input.generics.split_for_impl();
    let body = match context_member(&input) {
        Ok(member) => quote!(&self.#member),
        Err(e) => {
            let e = e.to_compile_error();
            // Still implement the trait, so the error is not followed by
            // "OnexNode is not implemented" at every operation.
            quote!({ #e; #k::core::unreachable!() })
        }
    };
    quote! {
        #crate_error
        impl #impl_generics #k::OnexNode for #name #ty_generics #where_clause {
            #[inline]
            fn onex_context(&self) -> &#k::NodeContext {
                #body
            }
        }
    }
}
