//! The payload-type registry entry the macros add for a declared event,
//! for each event type a handler takes, for a responder's reply, and for
//! an operation's opted-in values (`fields(..)`, `ret`): its schema comes from
//! `schemars::JsonSchema` where the type implements it (the runtime's
//! probe picks it by method resolution), none otherwise, so no user type
//! has to implement it.

use proc_macro2::TokenStream;
use quote::quote;

/// What the type is to the program.
pub enum Role {
    /// A `#[derive(OnexEvent)]` type; `ty` is the type itself.
    Declared,
    /// A handler's input; `ty` is its `Incoming<T>`.
    Handled,
    /// A responder's reply; `ty` is its return type.
    Reply,
}

/// A `PAYLOAD_TYPES` entry, through the runtime's `payload_type!`:
/// `event_type` (a `&'static str` expression) has payloads of type `ty`.
pub fn entry(
    k: &TokenStream,
    event_type: &TokenStream,
    role: Role,
    ty: &TokenStream,
) -> TokenStream {
    let (role, probe) = match role {
        Role::Declared => (quote!(Declared), quote!(Probe)),
        Role::Handled => (quote!(Consumed), quote!(HandlerProbe)),
        Role::Reply => (quote!(Response), quote!(ReplyProbe)),
    };
    quote!(#k::payload_type!(#event_type, #role, #probe, #ty);)
}

/// True if a type can be named in a registry entry (a `static`): its
/// tokens name no `Self`, no lifetime and no `impl Trait` (generic
/// parameters are the caller's to rule out).
pub fn nameable(ty: &TokenStream) -> bool {
    fn hit(tokens: TokenStream) -> bool {
        tokens.into_iter().any(|tt| match tt {
            proc_macro2::TokenTree::Group(g) => hit(g.stream()),
            proc_macro2::TokenTree::Ident(i) => i == "Self" || i == "impl",
            proc_macro2::TokenTree::Punct(p) => p.as_char() == '\'',
            proc_macro2::TokenTree::Literal(_) => false,
        })
    }
    !hit(ty.clone())
}
