//! The rules of an `#[onex_operation]` method.

use super::{Errors, SEGMENT_RULE};
use crate::ast::{Body, Operation};
use crate::attr::IdSource;
use crate::names::is_segment;
impl Operation<'_> {
    pub(super) fn validate(&self, errors: &mut Errors) {
        let sig = &self.method.sig;
        for extra in &self.extra_attrs {
            errors.push_spanned(
                extra,
                "`#[onex_operation]` is given more than once on this method",
            );
        }
        match &self.attr.name {
            None => errors.push(
                self.attr.span,
                "missing operation name: write `#[onex_operation(\"operation_name\")]`",
            ),
            Some(lit) if lit.value().is_empty() => {
                errors.push(lit.span(), "the operation name must not be empty")
            }
            Some(lit) if !is_segment(&lit.value()) => errors.push(
                lit.span(),
                format!(
                    "the operation name `{}` must be {SEGMENT_RULE}",
                    lit.value()
                ),
            ),
            Some(_) => {}
        }
        if let Some(c) = &sig.constness {
            errors.push(
                c.span,
                "an operation cannot be a `const fn`: it must be an `async fn`",
            );
        } else if matches!(self.body, Body::NotAsync) {
            errors.push(
                sig.fn_token.span,
                "an operation must be an `async fn` (or return `Box::pin(async move { .. })` as `#[async_trait]` writes it): its lifecycle events surround the awaited body",
            );
        }
        if self.receiver.is_none() {
            errors.push(
                sig.ident.span(),
                "an operation must be a method taking `self` (`&self`, `&mut self`, ..) so it can reach the node's context",
            );
        }

        let fields = self
            .attr
            .fields
            .as_ref()
            .map(|(_, v)| v.as_slice())
            .unwrap_or(&[]);
        let skip = self
            .attr
            .skip
            .as_ref()
            .map(|(_, v)| v.as_slice())
            .unwrap_or(&[]);
        for (list, idents) in [("fields", fields), ("skip", skip)] {
            for (i, ident) in idents.iter().enumerate() {
                if ident == "self" {
                    errors.push(
                        ident.span(),
                        format!(
                            "`self` cannot be in `{list}(..)`: the node itself is never recorded"
                        ),
                    );
                } else if self.arg(ident).is_none() {
                    // An argument bound by a pattern, e.g. `(a, b): (u32, u32)`,
                    // has no single name to list.
                    let hint = if self.args.iter().any(|a| a.ident.is_none()) {
                        "; arguments written as patterns cannot be listed: bind the argument to a name and destructure it in the body"
                    } else {
                        ""
                    };
                    errors.push(
                        ident.span(),
                        format!(
                            "`{list}({ident})`: `fn {}` has no argument named `{ident}`{hint}",
                            sig.ident
                        ),
                    );
                } else if idents[..i].contains(ident) {
                    errors.push(
                        ident.span(),
                        format!("`{ident}` is listed twice in `{list}(..)`"),
                    );
                }
            }
        }
        for ident in skip {
            if fields.contains(ident) {
                errors.push(
                    ident.span(),
                    format!(
                        "`{ident}` is both opted in with `fields(..)` and left out with `skip(..)`"
                    ),
                );
            }
        }
        for (option, publish) in [
            ("publish_on_success", &self.attr.on_success),
            ("publish_on_error", &self.attr.on_error),
        ] {
            let option = match publish.as_ref().and_then(|p| p.kind) {
                Some("domain") => "domain_event",
                Some(_) => "audit_event",
                None => option,
            };
            match publish.as_ref().and_then(|p| p.id.as_ref()) {
                Some(IdSource::Arg(ident)) if self.arg(ident).is_none() => errors.push(
                    ident.span(),
                    format!(
                        "`{option}(.., id = {ident})`: `fn {}` has no argument named `{ident}`; the id comes from an argument or from `ret`, the returned value",
                        sig.ident
                    ),
                ),
                Some(IdSource::Ret { span, .. }) if option == "publish_on_error" => errors.push(
                    *span,
                    "`publish_on_error(.., id = ret)`: a failed operation returns no value; take the id from an argument",
                ),
                _ => {}
            }
        }
        if let (Some(all), Some((kw, _))) = (&self.attr.skip_all, &self.attr.skip) {
            errors.push(
                kw.span,
                "`skip(..)` and `skip_all` cannot be used together: `skip_all` already leaves every argument out",
            );
            let _ = all;
        }
    }
}
