//! Every rule a node and its operations must follow, checked before any
//! code is generated; all errors found are reported together, each at the
//! user's code. One file per part checked (the node's block, an operation,
//! a handler); the error list they share is here.

mod handler;
mod node;
mod operation;

use proc_macro2::Span;
use syn::{Error, LitStr, Result};

#[derive(Default)]
pub(crate) struct Errors(Option<Error>);

impl Errors {
    pub(crate) fn push(&mut self, span: Span, message: impl std::fmt::Display) {
        self.push_error(Error::new(span, message));
    }

    /// Like `push`, spanning every token of `tokens` (a single span on
    /// stable Rust covers only the first token).
    pub(crate) fn push_spanned(
        &mut self,
        tokens: impl quote::ToTokens,
        message: impl std::fmt::Display,
    ) {
        self.push_error(Error::new_spanned(tokens, message));
    }

    pub(crate) fn push_error(&mut self, e: Error) {
        match &mut self.0 {
            Some(all) => all.combine(e),
            None => self.0 = Some(e),
        }
    }

    pub(crate) fn finish(self) -> Result<()> {
        match self.0 {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}

pub(crate) const SEGMENT_RULE: &str = "lowercase snake_case: a letter a-z, then a-z, 0-9 or `_`";

pub(crate) fn routing_name(errors: &mut Errors, what: &str, lit: &LitStr) {
    let value = lit.value();
    if value.is_empty() {
        errors.push(lit.span(), format!("the {what} must not be empty"));
    } else if !value
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
    {
        errors.push(
            lit.span(),
            format!("the {what} `{value}` may hold only ASCII letters, digits, `.`, `_` and `-` (it names Kafka topics)"),
        );
    }
}
