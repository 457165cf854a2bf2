//! Procedural macros of [onex-events](https://docs.rs/onex-events). Depend
//! on `onex-events`, which re-exports them; the generated code reaches the
//! runtime through `::onex_events::__private`.
//!
//! The crate follows thiserror's layout: [`attr`] parses the attributes,
//! [`ast`] gathers a typed view of the node borrowing the user's syntax
//! (for spans), [`valid`] checks every rule, [`expand`] generates code, and
//! [`fallback`] emits the user's item unchanged next to `compile_error!` so
//! one mistake gives one error.

#![allow(clippy::manual_let_else)]

mod ast;
mod attr;
mod derive;
mod expand;
mod fallback;
mod names;
mod valid;

use proc_macro::TokenStream;

/// Marks an inherent `impl` block as an ONEX node. See `onex_events::onex_node`.
#[proc_macro_attribute]
pub fn onex_node(args: TokenStream, input: TokenStream) -> TokenStream {
    expand::node(args.into(), input.into()).into()
}

/// Marks an `async` method of an `#[onex_node]` impl block as an operation.
///
/// `#[onex_node]` consumes these attributes; this entry point is reached only
/// when the attribute is used outside a node, which is an error.
#[proc_macro_attribute]
pub fn onex_operation(args: TokenStream, input: TokenStream) -> TokenStream {
    fallback::operation_outside_node(args.into(), input.into()).into()
}

/// Implements `onex_events::OnexNode` for a struct with a `NodeContext` field.
#[proc_macro_derive(OnexNode, attributes(onex))]
pub fn derive_onex_node(input: TokenStream) -> TokenStream {
    derive::onex_node(input.into()).into()
}

/// Measures the expansion: tokens generated for a node of three operations
/// (one plain, one with `fields`, one with `ret`), per operation and per node.
#[cfg(test)]
mod expansion_size {
    use proc_macro2::{TokenStream, TokenTree};
    use std::str::FromStr;

    fn count(tokens: TokenStream) -> usize {
        tokens
            .into_iter()
            .map(|tt| match tt {
                TokenTree::Group(g) => 2 + count(g.stream()),
                _ => 1,
            })
            .sum()
    }

    fn expand(ops: usize) -> usize {
        let mut body = String::new();
        for i in 0..ops {
            body.push_str(&format!(
                "#[onex_operation(\"op_{i}\", fields(job), ret)] async fn op_{i}(&self, job: u32, secret: String) -> Result<u32, std::io::Error> {{ Ok(job) }}\n"
            ));
        }
        let input = TokenStream::from_str(&format!("impl Node {{ {body} }}")).unwrap();
        let args = TokenStream::from_str("\"orchestrator\"").unwrap();
        let out = crate::expand::node(args, input.clone());
        assert!(!out.to_string().contains("compile_error"), "{out}");
        count(out) - count(input)
    }

    #[test]
    fn report() {
        let (one, four) = (expand(1), expand(4));
        println!(
            "expansion: node with 1 operation +{one} tokens, 4 operations +{four} tokens, per operation +{}",
            (four - one) / 3
        );
    }
}
