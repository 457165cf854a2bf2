//! Success or failure told apart by the return *type*, with autoref
//! specialization: any `Result<T, E>` (including aliases such as
//! `anyhow::Result<T>` or `std::io::Result<T>`) is `failed` when `Err`;
//! anything else is `completed`.
//!
//! The macros call `(&&&&&&Wrap(&ret)).__onex_outcome()`; method lookup
//! picks the most specific impl that applies:
//!
//! | refs | type | error described by |
//! |---|---|---|
//! | 6 | `Result<T, E: Error>` | type name, `Display`, `source()` chain |
//! | 5 | `Result<T, E: AsRef<dyn Error + Send + Sync>>` (anyhow, `Box<dyn Error + Send + Sync>`) | type name, `Display`, chain |
//! | 4 | `Result<T, E: AsRef<dyn Error>>` (`Box<dyn Error>`) | type name, `Display`, chain |
//! | 3 | `Result<T, E: Display>` | type name, `Display` |
//! | 2 | `Result<T, E: Debug>` | type name, `Debug` |
//! | 1 | `Result<T, E>` | type name |
//! | 0 | anything else | always `completed` |
//!
//! A panic of the error's `Display`, `Debug` or `source()` is caught and
//! described instead, so the caller still gets its `Err`.
//!
//! `ret` picks the value to record the same way: `(&Wrap(&ret)).__onex_ok()`
//! is the `Ok` value of any `Result`, else the value itself; `publish_on_error`
//! takes `(&Wrap(&ret)).__onex_err()`, the `Err` value of a `Result`. The macros
//! bring every trait into scope with `use via::*`.

use crate::payload::ErrorInfo;
use std::any::type_name;
use std::error::Error as StdError;
use std::fmt::{Debug, Display};

/// How an operation ended.
#[derive(Debug)]
pub enum Outcome {
    /// It returned a value (an `Ok` for a `Result`) of type `ty`.
    Completed {
        /// `std::any::type_name` of the value.
        ty: &'static str,
    },
    /// It returned `Err`.
    Failed(ErrorInfo),
}

/// Wraps a reference to the returned value for autoref specialization.
pub struct Wrap<'a, T: ?Sized>(pub &'a T);

impl<T: ?Sized> Clone for Wrap<'_, T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T: ?Sized> Copy for Wrap<'_, T> {}

macro_rules! result_level {
    ($trait:ident, $refs:ty, [$($bound:tt)*], |$e:ident| $describe:expr) => {
        #[doc(hidden)]
        pub trait $trait {
            fn __onex_outcome(self) -> Outcome;
        }
        impl<T, E: $($bound)*> $trait for $refs {
            fn __onex_outcome(self) -> Outcome {
                match self.0 {
                    Ok(_) => Outcome::Completed { ty: type_name::<T>() },
                    Err($e) => Outcome::Failed($describe),
                }
            }
        }
    };
}

result_level!(
    ViaStdError,
    &&&&&&Wrap<'_, Result<T, E>>,
    [StdError + 'static],
    |e| ErrorInfo::from_error(type_name::<E>(), e)
);
result_level!(
    ViaDynErrorSendSync,
    &&&&&Wrap<'_, Result<T, E>>,
    [AsRef<dyn StdError + Send + Sync + 'static>],
    |e| ErrorInfo::from_error(type_name::<E>(), e.as_ref())
);
result_level!(
    ViaDynError,
    &&&&Wrap<'_, Result<T, E>>,
    [AsRef<dyn StdError + 'static>],
    |e| ErrorInfo::from_error(type_name::<E>(), e.as_ref())
);
result_level!(ViaDisplay, &&&Wrap<'_, Result<T, E>>, [Display], |e| {
    ErrorInfo::from_message_of(type_name::<E>(), || e.to_string())
});
result_level!(ViaDebug, &&Wrap<'_, Result<T, E>>, [Debug], |e| {
    ErrorInfo::from_message_of(type_name::<E>(), || format!("{e:?}"))
});
result_level!(ViaAnyResult, &Wrap<'_, Result<T, E>>, [Sized], |_e| {
    ErrorInfo::from_message(type_name::<E>(), type_name::<E>().to_owned())
});

#[doc(hidden)]
pub trait ViaValue {
    fn __onex_outcome(self) -> Outcome;
}
impl<T> ViaValue for Wrap<'_, T> {
    fn __onex_outcome(self) -> Outcome {
        Outcome::Completed {
            ty: type_name::<T>(),
        }
    }
}

#[doc(hidden)]
pub trait OkOfResult<'a> {
    type Ok: ?Sized + 'a;
    fn __onex_ok(self) -> Option<&'a Self::Ok>;
}
impl<'a, T, E> OkOfResult<'a> for &Wrap<'a, Result<T, E>> {
    type Ok = T;
    fn __onex_ok(self) -> Option<&'a T> {
        self.0.as_ref().ok()
    }
}

#[doc(hidden)]
pub trait OkOfValue<'a> {
    type Ok: ?Sized + 'a;
    fn __onex_ok(self) -> Option<&'a Self::Ok>;
}
impl<'a, T: ?Sized> OkOfValue<'a> for Wrap<'a, T> {
    type Ok = T;
    fn __onex_ok(self) -> Option<&'a T> {
        Some(self.0)
    }
}

#[doc(hidden)]
pub trait ErrOfResult<'a> {
    type Err: ?Sized + 'a;
    fn __onex_err(self) -> Option<&'a Self::Err>;
}
impl<'a, T, E> ErrOfResult<'a> for &Wrap<'a, Result<T, E>> {
    type Err = E;
    fn __onex_err(self) -> Option<&'a E> {
        self.0.as_ref().err()
    }
}

/// A value that is not a `Result` never fails: `publish_on_error` of an
/// operation returning one never publishes.
#[doc(hidden)]
pub trait ErrOfValue<'a> {
    type Err: ?Sized + 'a;
    fn __onex_err(self) -> Option<&'a Self::Err>;
}
impl<'a, T: ?Sized> ErrOfValue<'a> for Wrap<'a, T> {
    type Err = std::convert::Infallible;
    fn __onex_err(self) -> Option<&'a std::convert::Infallible> {
        None
    }
}

/// Every trait the generated code calls through, for one glob import.
pub mod via {
    pub use super::{
        ErrOfResult as _, ErrOfValue as _, OkOfResult as _, OkOfValue as _, ViaAnyResult as _,
        ViaDebug as _, ViaDisplay as _, ViaDynError as _, ViaDynErrorSendSync as _,
        ViaStdError as _, ViaValue as _,
    };
}
