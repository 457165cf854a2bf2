//! A typed view of an `#[onex_node]` impl block, borrowing the user's
//! syntax so every later error can point at the user's code.

use crate::attr::{
    is_handler_attr, is_method_attr, is_operation_attr, HandlerAttr, NodeAttr, OperationAttr,
};
use syn::ext::IdentExt;
use syn::{
    Expr, ExprAsync, ExprCall, FnArg, GenericArgument, Ident, ImplItem, ImplItemFn, ItemImpl, Pat,
    PathArguments, Receiver, Result, ReturnType, Stmt, Type, TypeParamBound,
};

pub struct Node<'a> {
    pub item: &'a ItemImpl,
    pub attr: NodeAttr,
    pub operations: Vec<Operation<'a>>,
    pub handlers: Vec<Handler<'a>>,
}

/// An `#[onex_handler]` method.
pub struct Handler<'a> {
    /// Index of the method in `item.items`.
    pub index: usize,
    pub method: &'a ImplItemFn,
    pub attr: HandlerAttr,
    /// Every `#[onex_handler]` after the first (an error).
    pub extra_attrs: Vec<&'a syn::Attribute>,
    /// An `#[onex_operation]` on the same method (an error).
    pub operation_attr: Option<&'a syn::Attribute>,
    pub receiver: Option<&'a Receiver>,
    pub args: Vec<Arg<'a>>,
}

impl Handler<'_> {
    /// The handler's operation name: `name = ".."`, else the method's name.
    pub fn name(&self) -> String {
        match &self.attr.name {
            Some(lit) => lit.value(),
            None => self.method.sig.ident.unraw().to_string(),
        }
    }

    /// The span naming the handler: its `name = ".."`, else the method's name.
    pub fn name_span(&self) -> proc_macro2::Span {
        match &self.attr.name {
            Some(lit) => lit.span(),
            None => self.method.sig.ident.span(),
        }
    }

    /// True unless `lifecycle = false`.
    pub fn lifecycle(&self) -> bool {
        self.attr.lifecycle.as_ref().is_none_or(|b| b.value)
    }
}

pub struct Operation<'a> {
    /// Index of the method in `item.items`.
    pub index: usize,
    /// Index among the block's operations.
    pub position: usize,
    pub method: &'a ImplItemFn,
    pub attr: OperationAttr,
    /// Every `#[onex_operation]` after the first (an error).
    pub extra_attrs: Vec<&'a syn::Attribute>,
    pub receiver: Option<&'a Receiver>,
    pub args: Vec<Arg<'a>>,
    pub body: Body<'a>,
}

/// How the method's body runs asynchronously.
pub enum Body<'a> {
    /// An `async fn`.
    Async,
    /// `#[async_trait]`'s shape: a plain `fn` returning
    /// `Pin<Box<dyn Future<Output = T> + ..>>` whose last expression is
    /// `Box::pin(async move { .. })`. As tracing's `#[instrument]` does, the
    /// `async` block is what gets instrumented.
    Boxed {
        /// Index of that last statement in the method's block.
        stmt: usize,
        call: &'a ExprCall,
        block: &'a ExprAsync,
        /// `T` of `Future<Output = T>`, if written in the return type.
        output: Option<&'a Type>,
    },
    /// Neither (an error).
    NotAsync,
}

impl<'a> Body<'a> {
    pub fn of(method: &'a ImplItemFn) -> Self {
        if method.sig.asyncness.is_some() {
            return Body::Async;
        }
        let stmts = &method.block.stmts;
        let Some(Stmt::Expr(Expr::Call(call), None)) = stmts.last() else {
            return Body::NotAsync;
        };
        let stmt = stmts.len() - 1;
        let is_box_pin = match &*call.func {
            Expr::Path(p) => {
                let mut rev = p.path.segments.iter().rev();
                matches!((rev.next(), rev.next()), (Some(pin), Some(b)) if pin.ident == "pin" && b.ident == "Box")
            }
            _ => false,
        };
        match (is_box_pin, call.args.len(), call.args.first()) {
            (true, 1, Some(Expr::Async(block))) => Body::Boxed {
                stmt,
                call,
                block,
                output: match &method.sig.output {
                    ReturnType::Type(_, ty) => future_output(ty),
                    ReturnType::Default => None,
                },
            },
            _ => Body::NotAsync,
        }
    }
}

/// `T` in `Pin<Box<dyn Future<Output = T> + Send + 'a>>`, searched through
/// the generic arguments of the return type.
fn future_output(ty: &Type) -> Option<&Type> {
    match ty {
        Type::Path(p) => p
            .path
            .segments
            .iter()
            .filter_map(|seg| match &seg.arguments {
                PathArguments::AngleBracketed(a) => Some(a.args.iter()),
                _ => None,
            })
            .flatten()
            .find_map(|arg| match arg {
                GenericArgument::Type(t) => future_output(t),
                _ => None,
            }),
        Type::TraitObject(t) => t.bounds.iter().find_map(|b| match b {
            TypeParamBound::Trait(tb) => {
                let last = tb.path.segments.last()?;
                if last.ident != "Future" {
                    return None;
                }
                match &last.arguments {
                    PathArguments::AngleBracketed(a) => a.args.iter().find_map(|arg| match arg {
                        GenericArgument::AssocType(at) if at.ident == "Output" => Some(&at.ty),
                        _ => None,
                    }),
                    _ => None,
                }
            }
            _ => None,
        }),
        Type::Paren(p) => future_output(&p.elem),
        Type::Group(g) => future_output(&g.elem),
        _ => None,
    }
}

pub struct Arg<'a> {
    /// The argument's name, if its pattern is a plain identifier.
    pub ident: Option<&'a Ident>,
    /// The name shown in `input`: the identifier, or the pattern as written.
    pub name: String,
    pub pat: &'a Pat,
    pub ty: &'a Type,
}

impl<'a> Node<'a> {
    pub fn from_syn(attr: NodeAttr, item: &'a ItemImpl) -> Result<Self> {
        let mut operations = Vec::new();
        let mut handlers = Vec::new();
        let mut errors: Option<syn::Error> = None;
        let mut push = |e: syn::Error| match &mut errors {
            Some(all) => all.combine(e),
            None => errors = Some(e),
        };
        for (index, impl_item) in item.items.iter().enumerate() {
            let ImplItem::Fn(method) = impl_item else {
                // `#[onex_operation]` on a const, type or macro of the node.
                for attr in item_attrs(impl_item).iter().filter(|a| is_method_attr(a)) {
                    let what = if is_handler_attr(attr) {
                        "onex_handler"
                    } else {
                        "onex_operation"
                    };
                    push(syn::Error::new_spanned(
                        attr,
                        format!("`#[{what}]` goes on an `async fn` method of the node"),
                    ));
                }
                continue;
            };
            let mut handler_attrs = method.attrs.iter().filter(|a| is_handler_attr(a));
            if let Some(first) = handler_attrs.next() {
                match HandlerAttr::from_attribute(first) {
                    Ok(attr) => {
                        let (receiver, args) = signature(method);
                        handlers.push(Handler {
                            index,
                            method,
                            attr,
                            extra_attrs: handler_attrs.collect(),
                            operation_attr: method.attrs.iter().find(|a| is_operation_attr(a)),
                            receiver,
                            args,
                        });
                    }
                    Err(e) => push(e),
                }
                continue;
            }
            let mut attrs = method.attrs.iter().filter(|a| is_operation_attr(a));
            let Some(first) = attrs.next() else {
                continue;
            };
            match OperationAttr::from_attribute(first) {
                Ok(attr) => {
                    let mut op = Operation::from_syn(index, method, attr, attrs.collect());
                    op.position = operations.len();
                    operations.push(op);
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
                handlers,
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
        let (receiver, args) = signature(method);
        Operation {
            index,
            position: 0,
            method,
            attr,
            extra_attrs,
            receiver,
            args,
            body: Body::of(method),
        }
    }

    /// The argument named `ident`, if any.
    pub fn arg(&self, ident: &Ident) -> Option<&Arg<'a>> {
        self.args.iter().find(|a| a.ident == Some(ident))
    }
}

/// The receiver and typed arguments of `method`.
fn signature(method: &ImplItemFn) -> (Option<&Receiver>, Vec<Arg<'_>>) {
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
                    pat: &pt.pat,
                    ty: &pt.ty,
                });
            }
        }
    }
    (receiver, args)
}
