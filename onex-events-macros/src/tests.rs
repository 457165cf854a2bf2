//! What the expansion holds: its size per operation and per handler (printed with
//! `cargo test -p onex-events-macros -- --nocapture`), and the runtime
//! reached through `crate = path` alone.

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

/// A node of `ops` operations, each with `fields` and `ret`.
fn node(ops: usize) -> TokenStream {
    let mut body = String::new();
    for i in 0..ops {
        body.push_str(&format!(
            "#[onex_operation(\"op_{i}\", fields(job), ret)] async fn op_{i}(&self, job: u32, secret: String) -> Result<u32, std::io::Error> {{ Ok(job) }}\n"
        ));
    }
    TokenStream::from_str(&format!("impl Node {{ {body} }}")).unwrap()
}

fn expand(args: &str, input: TokenStream) -> TokenStream {
    let out = crate::expand::node(TokenStream::from_str(args).unwrap(), input);
    assert!(!out.to_string().contains("compile_error"), "{out}");
    out
}

/// Tokens added to the user's code by a node of `ops` operations.
fn added(args: &str, ops: usize) -> usize {
    let input = node(ops);
    count(expand(args, input.clone())) - count(input)
}

#[test]
fn expansion_grows_by_a_few_hundred_tokens_per_operation() {
    for (what, args) in [("declaring", "\"orchestrator\""), ("extend", "extend")] {
        let (one, four) = (added(args, 1), added(args, 4));
        let per_operation = (four - one) / 3;
        println!("{what} block: 1 operation +{one} tokens, 4 operations +{four}, per operation +{per_operation}");
        assert!(
            per_operation < 500,
            "{what}: {per_operation} tokens per operation"
        );
    }
}

#[test]
fn crate_path_replaces_every_absolute_path() {
    for args in [
        "\"orchestrator\", crate = my_events",
        "extend, crate = \"my_events\"",
    ] {
        let out = expand(args, node(2)).to_string();
        assert!(!out.contains("onex_events"), "{out}");
        assert!(out.contains("my_events :: __private"), "{out}");
    }
}

#[test]
fn catalog_literal_is_emitted_once_per_node() {
    let out = expand("\"orchestrator\"", node(3)).to_string();
    assert_eq!(out.matches("operation_lifecycle").count(), 1, "{out}");
}

/// A node of `n` handlers, each with `payload`.
fn handlers(n: usize) -> TokenStream {
    let mut body = String::new();
    for i in 0..n {
        body.push_str(&format!(
            "#[onex_handler(\"up.op_{i}.completed\", payload, attempts = 5)] async fn on_{i}(&self, event: Incoming<u32>) -> Result<(), std::io::Error> {{ Ok(()) }}\n"
        ));
    }
    TokenStream::from_str(&format!("impl Node {{ {body} }}")).unwrap()
}

#[test]
fn expansion_grows_by_a_few_hundred_tokens_per_handler() {
    let added = |n: usize| {
        let input = handlers(n);
        count(expand("\"effect\"", input.clone())) - count(input)
    };
    let (one, four) = (added(1), added(4));
    let per_handler = (four - one) / 3;
    println!("handlers: 1 handler +{one} tokens, 4 handlers +{four}, per handler +{per_handler}");
    assert!(per_handler < 1000, "{per_handler} tokens per handler");
}

#[test]
fn crate_path_replaces_every_absolute_path_in_handlers() {
    let out = expand("\"effect\", crate = my_events", handlers(2)).to_string();
    assert!(!out.contains("onex_events"), "{out}");
    assert!(
        out.contains("my_events :: __private :: EventHandlers"),
        "{out}"
    );
}
