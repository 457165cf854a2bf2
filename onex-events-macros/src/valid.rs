//! Every rule a node and its operations must follow, checked before any
//! code is generated; all errors found are reported together, each at the
//! user's code.

use crate::ast::{Body, Handler, Node, Operation};
use crate::attr::IdSource;
use crate::names::is_segment;
use proc_macro2::Span;
use std::collections::BTreeMap;
use syn::{Error, Ident, LitStr, Result};

#[derive(Default)]
pub(crate) struct Errors(Option<Error>);

impl Errors {
    pub(crate) fn push(&mut self, span: Span, message: impl std::fmt::Display) {
        self.push_error(Error::new(span, message));
    }

    /// Like `push`, spanning every token of `tokens` (a single span on
    /// stable Rust covers only the first token).
    fn push_spanned(&mut self, tokens: impl quote::ToTokens, message: impl std::fmt::Display) {
        self.push_error(Error::new_spanned(tokens, message));
    }

    fn push_error(&mut self, e: Error) {
        match &mut self.0 {
            Some(all) => all.combine(e),
            None => self.0 = Some(e),
        }
    }

    fn finish(self) -> Result<()> {
        match self.0 {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}

pub(crate) const SEGMENT_RULE: &str = "lowercase snake_case: a letter a-z, then a-z, 0-9 or `_`";

fn routing_name(errors: &mut Errors, what: &str, lit: &LitStr) {
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

impl Node<'_> {
    pub fn validate(&self) -> Result<()> {
        let mut errors = Errors::default();
        if let Some(extend) = &self.attr.extend {
            self.validate_extension(extend.span, &mut errors);
        } else {
            self.validate_declaration(&mut errors);
        }

        let mut seen: BTreeMap<String, &Ident> = BTreeMap::new();
        for op in &self.operations {
            op.validate(&mut errors);
            if let Some(name) = &op.attr.name {
                let value = name.value();
                if let Some(first) = seen.get(&value) {
                    errors.push(
                        name.span(),
                        format!("duplicate operation `{value}` in this node: `fn {first}` already declares it"),
                    );
                } else {
                    seen.insert(value, &op.method.sig.ident);
                }
            }
        }
        self.validate_handlers(&seen, &mut errors);
        crate::requests::validate(self, &mut errors);
        errors.finish()
    }

    /// Each handler's own rules, then those across the node's handlers:
    /// names unique among operations and handlers, each event type handled
    /// once, one catch-all at most. Handlers go in the declaring block.
    fn validate_handlers(&self, operations: &BTreeMap<String, &Ident>, errors: &mut Errors) {
        let mut names: BTreeMap<String, &Ident> = BTreeMap::new();
        let mut event_types: BTreeMap<String, &Ident> = BTreeMap::new();
        let mut event_paths: BTreeMap<String, &Ident> = BTreeMap::new();
        let mut catch_all: Option<&Ident> = None;
        for handler in &self.handlers {
            let fn_name = &handler.method.sig.ident;
            if self.attr.extend.is_some() {
                errors.push(
                    handler.attr.span,
                    "`#[onex_handler]` methods go in the block that declares the node (`#[onex_node(\"..\")]`), not in an `extend` block: the node's `EventHandlers` impl is generated there",
                );
            }
            handler.validate(errors);
            let name = handler.name();
            if let Some(first) = operations.get(&name) {
                errors.push(
                    handler.name_span(),
                    format!("the handler name `{name}` is already the operation of `fn {first}`: a handler is an operation of the node, name it apart with `name = \"..\"`"),
                );
            } else if let Some(first) = names.get(&name) {
                errors.push(
                    handler.name_span(),
                    format!("duplicate handler `{name}` in this node: `fn {first}` already has that name; name it apart with `name = \"..\"`"),
                );
            } else {
                names.insert(name, fn_name);
            }
            for (i, lit) in handler.attr.event_types.iter().enumerate() {
                let value = lit.value();
                if handler.attr.event_types[..i]
                    .iter()
                    .any(|l| l.value() == value)
                {
                    errors.push(
                        lit.span(),
                        format!("the event type `{value}` is listed twice"),
                    );
                } else if let Some(first) = event_types.get(&value) {
                    errors.push(
                        lit.span(),
                        format!("the event type `{value}` is already handled by `fn {first}`: each event type goes to one handler of a node"),
                    );
                } else {
                    event_types.insert(value, fn_name);
                }
            }
            for path in &handler.attr.event_paths {
                let value = crate::names::path_string(path);
                if let Some(first) = event_paths.get(&value) {
                    errors.push_spanned(
                        path,
                        format!("the event `{value}` is already handled by `fn {first}`: each event type goes to one handler of a node"),
                    );
                } else {
                    event_paths.insert(value, fn_name);
                }
            }
            if let Some(any) = &handler.attr.any {
                match catch_all {
                    Some(first) => errors.push(
                        any.span,
                        format!("a node has at most one catch-all handler: `fn {first}` is already `#[onex_handler(any)]`"),
                    ),
                    None => catch_all = Some(fn_name),
                }
            }
        }
    }

    /// An `extend` block takes everything but its operations from the block
    /// that declares the node.
    fn validate_extension(&self, extend: Span, errors: &mut Errors) {
        let attr = &self.attr;
        let declared = [
            attr.node_type.as_ref().map(|l| ("the node type", l.span())),
            attr.service.as_ref().map(|l| ("`service`", l.span())),
            attr.namespace.as_ref().map(|l| ("`namespace`", l.span())),
            attr.include_state_events
                .as_ref()
                .map(|l| ("`include_state_events`", l.span)),
            attr.include_metric_events
                .as_ref()
                .map(|l| ("`include_metric_events`", l.span)),
            attr.requests.as_ref().map(|(k, _)| ("`requests`", k.span)),
        ];
        for (what, span) in declared.into_iter().flatten() {
            errors.push(
                span,
                format!("an `extend` block cannot set {what}: the node's `#[onex_node(\"..\")]` block declares it"),
            );
        }
        if !self.item.generics.params.is_empty() {
            errors.push_spanned(
                &self.item.generics,
                "an `#[onex_node(extend)]` block cannot be generic: its operations join the node's catalog through a link-time registry entry, which names one concrete type; put a generic node's operations in its declaring `#[onex_node(\"..\")]` block",
            );
        }
        if let Some((kw, _)) = &attr.events {
            errors.push(
                kw.span,
                "an `extend` block cannot set `events(..)`: list the node's declared events in its `#[onex_node(\"..\")]` block",
            );
        }
        for op in &self.operations {
            for publish in [&op.attr.on_success, &op.attr.on_error]
                .into_iter()
                .flatten()
            {
                errors.push(
                    publish.span,
                    "`publish_on_success`/`publish_on_error` go on operations of the block that declares the node (`#[onex_node(\"..\")]`), whose catalog lists their events",
                );
            }
        }
        if self.operations.is_empty() && self.handlers.is_empty() {
            errors.push(
                extend,
                "this `#[onex_node(extend)]` block has no `#[onex_operation]` method",
            );
        }
    }

    fn validate_declaration(&self, errors: &mut Errors) {
        match &self.attr.node_type {
            None => errors.push(
                Span::call_site(),
                "missing node type: write `#[onex_node(\"orchestrator\")]` or `#[onex_node(node_type = \"orchestrator\")]`; another block of a node declared elsewhere takes `#[onex_node(extend)]`",
            ),
            Some(lit) if !is_segment(&lit.value()) => errors.push(
                lit.span(),
                format!("the node type `{}` must be {SEGMENT_RULE}", lit.value()),
            ),
            Some(_) => {}
        }
        if let Some(lit) = &self.attr.service {
            routing_name(errors, "service name", lit);
        }
        if let Some(lit) = &self.attr.namespace {
            routing_name(errors, "namespace", lit);
        }
    }
}

impl Operation<'_> {
    fn validate(&self, errors: &mut Errors) {
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
    fn validate(&self, errors: &mut Errors) {
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
