use proc_macro::TokenStream;
#[proc_macro_attribute]
pub fn onex_node(_a: TokenStream, i: TokenStream) -> TokenStream { i }
#[proc_macro_attribute]
pub fn onex_operation(_a: TokenStream, i: TokenStream) -> TokenStream { i }
#[proc_macro_derive(OnexNode, attributes(onex))]
pub fn derive(_i: TokenStream) -> TokenStream { TokenStream::new() }
