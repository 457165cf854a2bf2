//! Token helpers the generated code shares: spans, and the return type's
//! hint to type inference.

use proc_macro2::{Span, TokenStream, TokenTree};
use quote::quote_spanned;

/// A statement that never runs but tells type inference that the `async`
/// block holding it returns `ty`, so `return` and `?` in the user's body
/// work as in the method; none for a type with `impl Trait` in it.
pub(crate) fn fake_return(ty: &TokenStream, span: Span) -> Option<TokenStream> {
    (!contains_impl_trait(ty)).then(|| {
        quote_spanned! {span=>
            #[allow(
                unreachable_code,
                clippy::diverging_sub_expression,
                clippy::empty_loop,
                clippy::let_unit_value,
                clippy::needless_return
            )]
            if false {
                let __onex_fake_return: #ty = loop {};
                return __onex_fake_return;
            }
        }
    })
}

/// `tokens` with every span set to `span`.
pub(crate) fn respan(tokens: &TokenStream, span: Span) -> TokenStream {
    tokens
        .clone()
        .into_iter()
        .map(|mut tt| {
            if let TokenTree::Group(g) = &tt {
                let mut group = proc_macro2::Group::new(g.delimiter(), respan(&g.stream(), span));
                group.set_span(span);
                tt = TokenTree::Group(group);
            } else {
                tt.set_span(span);
            }
            tt
        })
        .collect()
}

fn contains_impl_trait(ty: &TokenStream) -> bool {
    fn walk(tokens: TokenStream) -> bool {
        tokens.into_iter().any(|tt| match tt {
            TokenTree::Ident(i) => i == "impl",
            TokenTree::Group(g) => walk(g.stream()),
            _ => false,
        })
    }
    walk(ty.clone())
}
