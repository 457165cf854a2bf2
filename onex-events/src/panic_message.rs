//! The message of a caught panic, for the events that report one.

use std::any::Any;

/// The panic's message: the `&str` or `String` given to `panic!`, or
/// `Box<dyn Any>` for any other payload (as the standard panic hook says).
pub(crate) fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&'static str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "Box<dyn Any>".to_owned()
    }
}
