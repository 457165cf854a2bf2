//! Name rules shared by the checks: lowercase snake_case segments, and a
//! compact rendering of types for the `input` summary.

use proc_macro2::{Delimiter, Spacing, TokenStream, TokenTree};
use quote::ToTokens;

/// True if `s` is `[a-z][a-z0-9_]*`, the rule for every event type segment.
pub fn is_segment(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some('a'..='z'))
        && chars.all(|c| matches!(c, 'a'..='z' | '0'..='9' | '_'))
}

/// A path as written, e.g. `events::UserCreated`.
pub fn path_string(path: &syn::Path) -> String {
    let mut out = String::new();
    render(path.to_token_stream(), &mut out);
    out
}

/// Renders a type as a user would write it: `Vec<u8>`, `&'a str`,
/// `Result<(), Box<dyn Error + Send>>`.
pub fn type_string(ty: &syn::Type) -> String {
    let mut out = String::new();
    render(ty.to_token_stream(), &mut out);
    out
}

fn render(tokens: TokenStream, out: &mut String) {
    let mut prev_word = false;
    for tt in tokens {
        match tt {
            TokenTree::Group(g) => {
                let (open, close) = match g.delimiter() {
                    Delimiter::Parenthesis => ("(", ")"),
                    Delimiter::Bracket => ("[", "]"),
                    Delimiter::Brace => ("{ ", " }"),
                    Delimiter::None => ("", ""),
                };
                out.push_str(open);
                render(g.stream(), out);
                out.push_str(close);
                prev_word = false;
            }
            TokenTree::Ident(i) => {
                if prev_word {
                    out.push(' ');
                }
                out.push_str(&i.to_string());
                prev_word = true;
            }
            TokenTree::Literal(l) => {
                if prev_word {
                    out.push(' ');
                }
                out.push_str(&l.to_string());
                prev_word = true;
            }
            TokenTree::Punct(p) => {
                match p.as_char() {
                    ',' => out.push_str(", "),
                    ';' => out.push_str("; "),
                    '+' | '=' => {
                        out.push(' ');
                        out.push(p.as_char());
                        out.push(' ');
                    }
                    '-' if p.spacing() == Spacing::Joint => out.push_str(" -"),
                    '>' if out.ends_with(" -") => out.push_str("> "),
                    c => out.push(c),
                }
                prev_word = false;
            }
        }
    }
}

/// Renders a pattern (e.g. `(a, b)`) for the `input` summary.
pub fn pattern_string(pat: &syn::Pat) -> String {
    let mut out = String::new();
    render(pat.to_token_stream(), &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> String {
        type_string(&syn::parse_str(s).unwrap())
    }

    #[test]
    fn renders_types_compactly() {
        assert_eq!(t("Vec < u8 >"), "Vec<u8>");
        assert_eq!(t("& 'a mut str"), "&'a mut str");
        assert_eq!(t("HashMap<String, Vec<u8>>"), "HashMap<String, Vec<u8>>");
        assert_eq!(t("Box<dyn Error + Send>"), "Box<dyn Error + Send>");
        assert_eq!(t("impl Fn(u8) -> u8"), "impl Fn(u8) -> u8");
        assert_eq!(t("[u8; 4]"), "[u8; 4]");
    }

    #[test]
    fn segments() {
        assert!(is_segment("state_snapshot"));
        assert!(is_segment("v2"));
        assert!(!is_segment(""));
        assert!(!is_segment("State"));
        assert!(!is_segment("2x"));
        assert!(!is_segment("a-b"));
    }
}
