//! Operations of an `#[onex_node(extend)]` block: their descriptor and
//! registry entry, written in the operation's body by
//! [`__onex_extension_operation!`](crate::__onex_extension_operation). The
//! block sees the node only as a type, so its event type names are built
//! from `<Node as NodeDescriptor>::NODE_TYPE` by `const` evaluation.

const STAGES: [&str; 3] = ["started", "completed", "failed"];

/// The number of bytes of the three lifecycle event type names of
/// `operation` of `node_type`: `{node_type}.{operation}.{stage}` each.
#[doc(hidden)]
pub const fn lifecycle_len(node_type: &str, operation: &str) -> usize {
    let mut len = 0;
    let mut i = 0;
    while i < STAGES.len() {
        len += node_type.len() + operation.len() + STAGES[i].len() + 2;
        i += 1;
    }
    len
}

/// The three lifecycle event type names of an operation, written at
/// compile time where the node type is known only as a `const` (the
/// operations of an `#[onex_node(extend)]` block). `N` is
/// [`lifecycle_len`] of the same parts.
#[doc(hidden)]
pub struct LifecycleNames<const N: usize>([u8; N]);

const fn copy<const N: usize>(buf: &mut [u8; N], at: usize, part: &str) -> usize {
    let bytes = part.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        buf[at + i] = bytes[i];
        i += 1;
    }
    at + bytes.len()
}

impl<const N: usize> LifecycleNames<N> {
    /// Writes `{node_type}.{operation}.{stage}` for the three stages.
    pub const fn new(node_type: &str, operation: &str) -> Self {
        let mut buf = [0u8; N];
        let mut at = 0;
        let mut i = 0;
        while i < STAGES.len() {
            at = copy(&mut buf, at, node_type);
            at = copy(&mut buf, at, ".");
            at = copy(&mut buf, at, operation);
            at = copy(&mut buf, at, ".");
            at = copy(&mut buf, at, STAGES[i]);
            i += 1;
        }
        LifecycleNames(buf)
    }

    /// The three names, `started` first; `prefix` is the length of
    /// `{node_type}.{operation}.`.
    pub const fn names(&'static self, prefix: usize) -> [&'static str; 3] {
        let (started, rest) = self.0.as_slice().split_at(prefix + STAGES[0].len());
        let (completed, failed) = rest.split_at(prefix + STAGES[1].len());
        [utf8(started), utf8(completed), utf8(failed)]
    }
}

const fn utf8(bytes: &'static [u8]) -> &'static str {
    match std::str::from_utf8(bytes) {
        Ok(s) => s,
        // Unreachable: the parts are `str`s, copied whole.
        Err(_) => panic!("lifecycle event name is not UTF-8"),
    }
}

/// The statics of an operation of an `#[onex_node(extend)]` block, written
/// in its body: `__ONEX_OPERATION`, its descriptor, with event type names
/// built from `<$node as NodeDescriptor>::NODE_TYPE` at compile time, and
/// its entry in the registry, at `$position` in its block.
#[doc(hidden)]
#[macro_export]
macro_rules! __onex_extension_operation {
    ($node:ty, $name:literal, $position:literal, $args:expr) => {
        static __ONEX_OPERATION: $crate::__private::OperationDescriptor = {
            const NODE_TYPE: &str = <$node as $crate::__private::NodeDescriptor>::NODE_TYPE;
            const NAMES: $crate::__private::LifecycleNames<
                { $crate::__private::lifecycle_len(NODE_TYPE, $name) },
            > = $crate::__private::LifecycleNames::new(NODE_TYPE, $name);
            $crate::__private::OperationDescriptor::new(
                NODE_TYPE,
                $name,
                NAMES.names(NODE_TYPE.len() + $name.len() + 2),
                $args,
            )
        };
        #[$crate::__private::linkme::distributed_slice($crate::__private::OPERATIONS)]
        #[linkme(crate = $crate::__private::linkme)]
        static __ONEX_ENTRY: $crate::__private::OperationEntry =
            $crate::__private::OperationEntry::new(
                <$node as $crate::__private::NodeDescriptor>::__entry,
                &__ONEX_OPERATION,
                // In an attribute's expansion, `line!()` is the attribute's line.
                (
                    $crate::__private::core::file!(),
                    $crate::__private::core::line!(),
                    $crate::__private::core::column!(),
                    $position,
                ),
            );
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    const NAMES: LifecycleNames<{ lifecycle_len("compute", "process") }> =
        LifecycleNames::new("compute", "process");

    #[test]
    fn names_are_node_type_operation_and_stage() {
        assert_eq!(
            NAMES.names("compute.process.".len()),
            [
                "compute.process.started",
                "compute.process.completed",
                "compute.process.failed"
            ]
        );
    }
}
