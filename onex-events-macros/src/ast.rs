//! A typed view of an `#[onex_node]` impl block, borrowing the user's
//! syntax so every later error can point at the user's code.

use crate::attr::{is_operation_attr, NodeAttr, OperationAttr};
use syn::{FnArg, Ident, ImplItem, ImplItemFn, ItemImpl, Pat, Receiver, Result, Type};

pub struct Node<'a> {
    pub item: &'a ItemImpl,
    pub attr: NodeAttr,
    pub operations: Vec<Operation<'a>>,
}

pub struct Operation<'a> {
    /// Index of the method in `item.items`.
    pub index: usize,
    pub method: &'a ImplItemFn,
    pub attr: OperationAttr,
    /// Every `#[onex_operation]` after the first (an error).
    pub extra_attrs: Vec<&'a syn::Attribute>,
    pub receiver: Option<&'a Receiver>,
    pub args: Vec<Arg<'a>>,
}

pub struct Arg<'a> {
    /// The argument's name, if its pattern is a plain identifier.
    pub ident: Option<&'a Ident>,
    /// The name shown in `input`: the identifier, or the pattern as written.
    pub name: String,
    pub ty: &'a Type,
}

impl<'a> Node<'a> {
    pub fn from_syn(attr: NodeAttr, item: &'a ItemImpl) -> Result<Self> {
        let mut operations = Vec::new();
        let mut errors: Option<syn::Error> = None;
        let mut push = |e: syn::Error| match &mut errors {
            Some(all) => all.combine(e),
            None => errors = Some(e),
        };
        for (index, impl_item) in item.items.iter().enumerate() {
            let ImplItem::Fn(method) = impl_item else {
                // `#[onex_operation]` on a const, type or macro of the node.
                for attr in item_attrs(impl_item)
                    .iter()
                    .filter(|a| is_operation_attr(a))
                {
                    push(syn::Error::new_spanned(
                        attr,
                        "`#[onex_operation]` goes on an `async fn` method of the node",
                    ));
                }
                continue;
            };
            let mut attrs = method.attrs.iter().filter(|a| is_operation_attr(a));
            let Some(first) = attrs.next() else {
                continue;
            };
            match OperationAttr::from_attribute(first) {
                Ok(attr) => {
                    operations.push(Operation::from_syn(index, method, attr, attrs.collect()))
                }
                Err(e) => push(e),
            }
        }
        match errors {
            Some(e) => Err(e),
            None => Ok(Node {
                item,
                attr,
                operations,
            }),
        }
    }
}

/// The attributes of an item of an impl block; none for an item syn does
/// not model.
pub fn item_attrs(item: &ImplItem) -> &[syn::Attribute] {
    match item {
        ImplItem::Const(c) => &c.attrs,
        ImplItem::Fn(f) => &f.attrs,
        ImplItem::Type(t) => &t.attrs,
        ImplItem::Macro(m) => &m.attrs,
        _ => &[],
    }
}

impl<'a> Operation<'a> {
    fn from_syn(
        index: usize,
        method: &'a ImplItemFn,
        attr: OperationAttr,
        extra_attrs: Vec<&'a syn::Attribute>,
    ) -> Self {
        let mut receiver = None;
        let mut args = Vec::new();
        for input in &method.sig.inputs {
            match input {
                FnArg::Receiver(r) => receiver = Some(r),
                FnArg::Typed(pt) => {
                    let ident = match &*pt.pat {
                        Pat::Ident(pi) => Some(&pi.ident),
                        _ => None,
                    };
                    let name = match ident {
                        Some(i) => i.to_string(),
                        None => crate::names::pattern_string(&pt.pat),
                    };
                    args.push(Arg {
                        ident,
                        name,
                        ty: &pt.ty,
                    });
                }
            }
        }
        Operation {
            index,
            method,
            attr,
            extra_attrs,
            receiver,
            args,
        }
    }

    /// The argument named `ident`, if any.
    pub fn arg(&self, ident: &Ident) -> Option<&Arg<'a>> {
        self.args.iter().find(|a| a.ident == Some(ident))
    }
}
