//! The payload-type registry entry the macros add for a declared event,
//! for each event type a handler takes, and for a responder's reply: its schema comes from
//! `schemars::JsonSchema` where the type implements it (the runtime's
//! probe picks it by method resolution), none otherwise, so no user type
//! has to implement it.

use proc_macro2::TokenStream;
use quote::quote;

/// What the type is to the program (`PayloadRole`: `Declared`, `Consumed`, `Response`).
pub enum Role {
    /// A `#[derive(OnexEvent)]` type; `ty` is the type itself.
    Declared,
    /// A handler's input; `ty` is its `Incoming<T>`.
    Handled,
    /// A responder's reply; `ty` is its return type.
    Reply,
}

/// A `PAYLOAD_TYPES` entry: `event_type` (a `&'static str` expression) has
/// payloads of type `ty`, written `rust_type`.
pub fn entry(
    k: &TokenStream,
    event_type: &TokenStream,
    role: Role,
    rust_type: &str,
    ty: &TokenStream,
) -> TokenStream {
    let (role, probe) = match role {
        Role::Declared => (quote!(Declared), quote!((&&#k::Probe::<#ty>::new()))),
        Role::Handled => (quote!(Consumed), quote!((&&#k::HandlerProbe::<#ty>::new()))),
        Role::Reply => (quote!(Response), quote!((&&&#k::ReplyProbe::<#ty>::new()))),
    };
    quote! {
        const _: () = {
            #[#k::linkme::distributed_slice(#k::PAYLOAD_TYPES)]
            #[linkme(crate = #k::linkme)]
            #[allow(clippy::needless_borrow)]
            static __ONEX_PAYLOAD_TYPE: #k::PayloadType = #k::PayloadType::new(
                #event_type,
                #k::PayloadRole::#role,
                #rust_type,
                || {
                    #[allow(unused_imports)]
                    use #k::{NoSchema as _, ViaJsonSchema as _, ViaOkSchema as _};
                    #probe.__onex_schema()
                },
            );
        };
    }
}
