//! The rules of an `#[onex_handler]` method.

use super::{Errors, SEGMENT_RULE};
use crate::ast::{Body, Handler};
use crate::names::is_segment;
/// An `onex_handler` option's integer, at least `min`.
fn int_option<T>(errors: &mut Errors, lit: Option<&syn::LitInt>, what: &str, min: T) -> Option<T>
where
    T: std::str::FromStr + PartialOrd + std::fmt::Display,
    T::Err: std::fmt::Display,
{
    let lit = lit?;
    match lit.base10_parse::<T>() {
        Ok(v) if v < min => {
            errors.push(lit.span(), format!("`{what}` must be at least {min}"));
            None
        }
        Ok(v) => Some(v),
        Err(e) => {
            errors.push(lit.span(), format!("`{what}`: {e}"));
            None
        }
    }
}

impl Handler<'_> {
    pub(super) fn validate(&self, errors: &mut Errors) {
        let sig = &self.method.sig;
        let attr = &self.attr;
        for extra in &self.extra_attrs {
            errors.push_spanned(
                extra,
                "`#[onex_handler]` is given more than once on this method: list every event type in one attribute",
            );
        }
        if let Some(op) = self.operation_attr {
            errors.push_spanned(
                op,
                "a method cannot be both `#[onex_handler]` and `#[onex_operation]`: a handler already is an operation of the node (`{node_type}.{name}.started`, ..); name it with `#[onex_handler(.., name = \"..\")]`",
            );
        }

        // What it handles.
        for lit in &attr.event_types {
            let value = lit.value();
            let segments: Vec<&str> = value.split('.').collect();
            if segments.len() < 3 || !segments.iter().all(|s| is_segment(s)) {
                errors.push(
                    lit.span(),
                    format!("the event type `{value}` must be three or more dot-separated segments, each {SEGMENT_RULE}, e.g. `orchestrator.orchestration.completed`"),
                );
            }
        }
        match (
            &attr.any,
            attr.event_types.is_empty() && attr.event_paths.is_empty(),
        ) {
            (None, true) => errors.push(
                attr.span,
                "missing event type: write `#[onex_handler(\"orchestrator.orchestration.completed\")]` (several may be listed), or `#[onex_handler(any)]` for a catch-all",
            ),
            (Some(any), false) => errors.push(
                any.span,
                "`any` takes every event no other handler of the node names: it cannot be given with event types",
            ),
            _ => {}
        }

        // Its name.
        if let Some(lit) = &attr.name {
            if !is_segment(&lit.value()) {
                errors.push(
                    lit.span(),
                    format!("the handler name `{}` must be {SEGMENT_RULE}", lit.value()),
                );
            }
        } else if !is_segment(&self.name()) {
            errors.push(
                sig.ident.span(),
                format!("the handler name `{}` (the method's name) must be {SEGMENT_RULE}: name it with `#[onex_handler(.., name = \"..\")]`", self.name()),
            );
        }

        // Its options.
        let _ = int_option::<u32>(errors, attr.attempts.as_ref(), "attempts", 1);
        let backoff = int_option::<u64>(errors, attr.backoff_ms.as_ref(), "backoff_ms", 0);
        let max = int_option::<u64>(errors, attr.max_backoff_ms.as_ref(), "max_backoff_ms", 0);
        let _ = int_option::<u64>(errors, attr.timeout_ms.as_ref(), "timeout_ms", 1);
        if let (Some(lit), Some(max)) = (&attr.max_backoff_ms, max) {
            let backoff = backoff.unwrap_or(crate::handlers::DEFAULT_BACKOFF_MS);
            if max < backoff {
                errors.push(
                    lit.span(),
                    format!("`max_backoff_ms` ({max}) is less than `backoff_ms` ({backoff}), the first wait"),
                );
            }
        }
        if let (Some(payload), false) = (&attr.payload, self.lifecycle()) {
            errors.push(
                payload.span,
                "`payload` records the incoming payload in the handler's `started` event, which `lifecycle = false` turns off",
            );
        }

        // Its signature: `async fn name(&self, event: Incoming<T>)`.
        if let Some(c) = &sig.constness {
            errors.push(
                c.span,
                "a handler cannot be a `const fn`: it must be an `async fn`",
            );
        } else if sig.asyncness.is_none() {
            let hint = match Body::of(self.method) {
                Body::Boxed { .. } => " (with `#[async_trait]`, put `#[onex_node]` above it, so it sees the `async fn`)",
                _ => "",
            };
            errors.push(
                sig.fn_token.span,
                format!("a handler must be an `async fn`: `async fn handle(&self, event: Incoming<MyPayload>)`{hint}"),
            );
        }
        match self.receiver {
            None => errors.push(
                sig.ident.span(),
                "a handler must be a method taking `&self`: `async fn handle(&self, event: Incoming<MyPayload>)`",
            ),
            Some(r) => {
                let shared_ref = match (&r.reference, &r.colon_token) {
                    (Some(_), _) => r.mutability.is_none(),
                    (None, Some(_)) => matches!(&*r.ty, syn::Type::Reference(t) if t.mutability.is_none()),
                    (None, None) => false,
                };
                if !shared_ref {
                    errors.push_spanned(
                        r,
                        "a handler takes `&self`: the consumer shares the node between handlers running at once",
                    );
                }
            }
        }
        if let Some(param) = sig
            .generics
            .params
            .iter()
            .find(|p| !matches!(p, syn::GenericParam::Lifetime(_)))
        {
            errors.push_spanned(
                param,
                "a handler cannot have type or const parameters: the consumer calls it with the one type its argument names",
            );
        }
        match self.args.as_slice() {
            [] => errors.push(
                sig.ident.span(),
                "a handler takes one argument, the incoming event: `event: Incoming<MyPayload>`",
            ),
            [_] => {}
            [_, extra, ..] => errors.push_spanned(
                extra.pat,
                "a handler takes one argument, the incoming event (`event: Incoming<MyPayload>`); reach the rest through `&self`",
            ),
        }
    }
}
