//! Lexer and parser for the DOT dialect used in `observationSource`.
//!
//! Accepted: an optional `[strict] digraph|graph [name] { … }` wrapper (established specs
//! usually have none), node statements `id [k=v k2="…" k3=<…>]`, edge chains
//! `a -> b -> c [attrs]`, optional `;`, `//`, `/* */` and `#` comments, quoted strings with
//! escapes, `<…>` literals (nested angle brackets, may span lines), numerals and identifiers.
//! Graph, node and edge default attribute statements are accepted and ignored (reported in
//! [`DotGraph::warnings`]). The parser never panics: every access is bounds-checked.

use std::collections::HashMap;
use std::fmt;

/// A parse error at a byte offset of the DOT source.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub struct DotError {
    /// Byte offset in the DOT source.
    pub offset: usize,
    /// What was wrong.
    pub message: String,
}

impl fmt::Display for DotError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "at byte {}: {}", self.offset, self.message)
    }
}

/// A parsed DOT graph: nodes in order of first appearance, edges in declaration order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct DotGraph {
    /// The nodes.
    pub nodes: Vec<DotNode>,
    /// The edges, as indexes into `nodes`.
    pub edges: Vec<DotEdge>,
    /// Things that were accepted but ignored.
    pub warnings: Vec<String>,
}

/// A node (task).
#[derive(Clone, Debug, PartialEq)]
pub struct DotNode {
    /// The node id.
    pub id: String,
    /// Byte offset of the statement that defined the node (or first mentioned it).
    pub offset: usize,
    /// Whether a node statement with an attribute list defined it.
    pub defined: bool,
    /// Its attributes, in source order.
    pub attrs: Vec<DotAttr>,
}

/// One `key=value` attribute.
#[derive(Clone, Debug, PartialEq)]
pub struct DotAttr {
    /// Attribute name.
    pub key: String,
    /// Byte offset of the name.
    pub key_offset: usize,
    /// Decoded value (quotes, escapes and `<>` removed).
    pub value: String,
    /// Byte offset of the first character of the decoded value in the source.
    pub value_offset: usize,
    /// For values whose decoding changed lengths (escapes): source offset of each decoded
    /// byte. `None` means decoded byte `i` is at `value_offset + i`.
    pub value_map: Option<Vec<usize>>,
}

impl DotAttr {
    /// Source offset of byte `i` of the decoded value.
    pub fn source_offset(&self, i: usize) -> usize {
        match &self.value_map {
            None => self.value_offset.saturating_add(i),
            Some(map) => map
                .get(i)
                .or_else(|| map.last())
                .copied()
                .unwrap_or(self.value_offset),
        }
    }
}

/// An edge `from -> to`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DotEdge {
    /// Source node index.
    pub from: usize,
    /// Target node index.
    pub to: usize,
    /// Byte offset of the edge operator.
    pub offset: usize,
}

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    /// Identifier or numeral.
    Id(String),
    /// Quoted string, decoded, with per-byte source offsets when escapes occurred.
    Quoted(String, Option<Vec<usize>>),
    /// `<…>` literal content.
    Html(String),
    LBrace,
    RBrace,
    LBracket,
    RBracket,
    Eq,
    Semi,
    Comma,
    Colon,
    Edge,
    Eof,
}

#[derive(Clone, Debug)]
struct Token {
    tok: Tok,
    /// Offset of the token's first byte.
    offset: usize,
    /// Offset of the first content byte (after an opening quote / `<`).
    content_offset: usize,
}

fn describe(t: &Tok) -> String {
    match t {
        Tok::Id(s) => format!("{s:?}"),
        Tok::Quoted(s, _) => format!("string {s:?}"),
        Tok::Html(_) => "<…> literal".to_owned(),
        Tok::LBrace => "'{'".to_owned(),
        Tok::RBrace => "'}'".to_owned(),
        Tok::LBracket => "'['".to_owned(),
        Tok::RBracket => "']'".to_owned(),
        Tok::Eq => "'='".to_owned(),
        Tok::Semi => "';'".to_owned(),
        Tok::Comma => "','".to_owned(),
        Tok::Colon => "':'".to_owned(),
        Tok::Edge => "edge operator".to_owned(),
        Tok::Eof => "end of input".to_owned(),
    }
}

struct Lexer<'a> {
    src: &'a str,
    pos: usize,
}

fn is_id_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_' || (c as u32) >= 0x80
}

fn is_id_char(c: char) -> bool {
    is_id_start(c) || c.is_ascii_digit()
}

impl<'a> Lexer<'a> {
    fn rest(&self) -> &'a str {
        self.src.get(self.pos..).unwrap_or("")
    }

    fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    fn peek2(&self) -> Option<char> {
        let mut it = self.rest().chars();
        it.next();
        it.next()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += c.len_utf8();
        Some(c)
    }

    fn err<T>(&self, offset: usize, message: impl Into<String>) -> Result<T, DotError> {
        Err(DotError {
            offset,
            message: message.into(),
        })
    }

    fn skip_trivia(&mut self) -> Result<(), DotError> {
        loop {
            match self.peek() {
                Some(c) if c.is_whitespace() => {
                    self.bump();
                }
                Some('#') => self.skip_line(),
                Some('/') if self.peek2() == Some('/') => self.skip_line(),
                Some('/') if self.peek2() == Some('*') => {
                    let start = self.pos;
                    self.pos += 2;
                    match self.rest().find("*/") {
                        Some(end) => self.pos += end + 2,
                        None => return self.err(start, "unterminated /* comment"),
                    }
                }
                _ => return Ok(()),
            }
        }
    }

    fn skip_line(&mut self) {
        match self.rest().find('\n') {
            Some(end) => self.pos += end + 1,
            None => self.pos = self.src.len(),
        }
    }

    fn next(&mut self) -> Result<Token, DotError> {
        self.skip_trivia()?;
        let offset = self.pos;
        let simple = |tok| Token {
            tok,
            offset,
            content_offset: offset,
        };
        let Some(c) = self.peek() else {
            return Ok(simple(Tok::Eof));
        };
        match c {
            '{' | '}' | '[' | ']' | '=' | ';' | ',' | ':' => {
                self.bump();
                Ok(simple(match c {
                    '{' => Tok::LBrace,
                    '}' => Tok::RBrace,
                    '[' => Tok::LBracket,
                    ']' => Tok::RBracket,
                    '=' => Tok::Eq,
                    ';' => Tok::Semi,
                    ',' => Tok::Comma,
                    _ => Tok::Colon,
                }))
            }
            '-' if matches!(self.peek2(), Some('>' | '-')) => {
                self.pos += 2;
                Ok(simple(Tok::Edge))
            }
            '"' => self.quoted(),
            '<' => self.html(),
            c if c == '-' || c == '.' || c.is_ascii_digit() => self.numeral(),
            c if is_id_start(c) => {
                let rest = self.rest();
                let len = rest.find(|c: char| !is_id_char(c)).unwrap_or(rest.len());
                let id = rest.get(..len).unwrap_or("").to_owned();
                self.pos += len;
                Ok(simple(Tok::Id(id)))
            }
            other => self.err(offset, format!("unexpected character {other:?}")),
        }
    }

    fn numeral(&mut self) -> Result<Token, DotError> {
        let offset = self.pos;
        let rest = self.rest();
        let mut len = 0usize;
        let bytes = rest.as_bytes();
        if bytes.first() == Some(&b'-') {
            len += 1;
        }
        let mut digits = 0usize;
        let mut point = false;
        while let Some(&b) = bytes.get(len) {
            if b.is_ascii_digit() {
                digits += 1;
            } else if b == b'.' && !point {
                point = true;
            } else {
                break;
            }
            len += 1;
        }
        if digits == 0 {
            return self.err(offset, "invalid numeral");
        }
        // A numeral directly followed by letters (e.g. `1abc`) is not valid DOT.
        if let Some(c) = rest.get(len..).and_then(|r| r.chars().next())
            && is_id_start(c)
        {
            return self.err(
                offset,
                "identifiers must not start with a digit (quote the value)",
            );
        }
        let text = rest.get(..len).unwrap_or("").to_owned();
        self.pos += len;
        Ok(Token {
            tok: Tok::Id(text),
            offset,
            content_offset: offset,
        })
    }

    fn quoted(&mut self) -> Result<Token, DotError> {
        let offset = self.pos;
        self.pos += 1;
        let content_offset = self.pos;
        let mut out = String::new();
        let mut map: Vec<usize> = Vec::new();
        let mut escaped = false;
        loop {
            let at = self.pos;
            match self.bump() {
                None => return self.err(offset, "unterminated string"),
                Some('"') => break,
                Some('\\') => {
                    escaped = true;
                    let decoded = match self.bump() {
                        None => return self.err(offset, "unterminated string"),
                        Some('"') => Some('"'),
                        Some('\\') => Some('\\'),
                        Some('n') => Some('\n'),
                        Some('t') => Some('\t'),
                        Some('r') => Some('\r'),
                        Some('\n') => None, // line continuation
                        Some(other) => {
                            // Unknown escapes are kept verbatim.
                            push_mapped(&mut out, &mut map, '\\', at);
                            Some(other)
                        }
                    };
                    if let Some(d) = decoded {
                        push_mapped(&mut out, &mut map, d, at);
                    }
                }
                Some(c) => push_mapped(&mut out, &mut map, c, at),
            }
        }
        Ok(Token {
            tok: Tok::Quoted(out, escaped.then_some(map)),
            offset,
            content_offset,
        })
    }

    fn html(&mut self) -> Result<Token, DotError> {
        let offset = self.pos;
        self.pos += 1;
        let content_offset = self.pos;
        let mut depth = 1usize;
        loop {
            match self.bump() {
                None => return self.err(offset, "unterminated <…> literal"),
                Some('<') => depth += 1,
                Some('>') => {
                    depth -= 1;
                    if depth == 0 {
                        break;
                    }
                }
                Some(_) => {}
            }
        }
        let content = self
            .src
            .get(content_offset..self.pos.saturating_sub(1))
            .unwrap_or("")
            .to_owned();
        Ok(Token {
            tok: Tok::Html(content),
            offset,
            content_offset,
        })
    }
}

fn push_mapped(out: &mut String, map: &mut Vec<usize>, c: char, at: usize) {
    out.push(c);
    for _ in 0..c.len_utf8() {
        map.push(at);
    }
}

/// Maximum number of nodes accepted in one graph.
pub const MAX_NODES: usize = 10_000;

struct Parser<'a> {
    lex: Lexer<'a>,
    peeked: Option<Token>,
    graph: DotGraph,
    index: HashMap<String, usize>,
}

impl<'a> Parser<'a> {
    fn peek(&mut self) -> Result<&Token, DotError> {
        if self.peeked.is_none() {
            self.peeked = Some(self.lex.next()?);
        }
        match &self.peeked {
            Some(t) => Ok(t),
            None => Err(DotError {
                offset: self.lex.pos,
                message: "internal lexer state".to_owned(),
            }),
        }
    }

    fn next(&mut self) -> Result<Token, DotError> {
        match self.peeked.take() {
            Some(t) => Ok(t),
            None => self.lex.next(),
        }
    }

    fn node_index(&mut self, id: &str, offset: usize) -> Result<usize, DotError> {
        if let Some(&i) = self.index.get(id) {
            return Ok(i);
        }
        if self.graph.nodes.len() >= MAX_NODES {
            return Err(DotError {
                offset,
                message: format!("more than {MAX_NODES} tasks"),
            });
        }
        let i = self.graph.nodes.len();
        self.graph.nodes.push(DotNode {
            id: id.to_owned(),
            offset,
            defined: false,
            attrs: Vec::new(),
        });
        self.index.insert(id.to_owned(), i);
        Ok(i)
    }

    fn parse(mut self) -> Result<DotGraph, DotError> {
        // Optional wrapper.
        let first = self.peek()?.clone();
        let mut wrapped = false;
        if let Tok::Id(word) = &first.tok {
            let lower = word.to_ascii_lowercase();
            if matches!(lower.as_str(), "strict" | "digraph" | "graph") {
                // `graph [..]` at top level is an attribute statement, not a wrapper.
                self.next()?;
                let mut kw = lower;
                if kw == "strict" {
                    match self.next()? {
                        Token {
                            tok: Tok::Id(w), ..
                        } if matches!(w.to_ascii_lowercase().as_str(), "digraph" | "graph") => {
                            kw = w.to_ascii_lowercase();
                        }
                        t => {
                            return Err(DotError {
                                offset: t.offset,
                                message: format!(
                                    "expected digraph or graph after strict, got {}",
                                    describe(&t.tok)
                                ),
                            });
                        }
                    }
                }
                let _ = kw;
                if matches!(self.peek()?.tok, Tok::LBracket) {
                    self.skip_attr_lists("graph")?;
                } else {
                    if matches!(self.peek()?.tok, Tok::Id(_) | Tok::Quoted(..)) {
                        self.next()?;
                    }
                    let t = self.next()?;
                    if t.tok != Tok::LBrace {
                        return Err(DotError {
                            offset: t.offset,
                            message: format!("expected '{{', got {}", describe(&t.tok)),
                        });
                    }
                    wrapped = true;
                }
            }
        }
        self.statements(wrapped)?;
        if wrapped {
            let t = self.next()?;
            if t.tok != Tok::Eof {
                return Err(DotError {
                    offset: t.offset,
                    message: format!("unexpected {} after the graph", describe(&t.tok)),
                });
            }
        }
        Ok(self.graph)
    }

    fn statements(&mut self, wrapped: bool) -> Result<(), DotError> {
        loop {
            let t = self.next()?;
            match t.tok {
                Tok::Eof if !wrapped => return Ok(()),
                Tok::Eof => {
                    return Err(DotError {
                        offset: t.offset,
                        message: "missing closing '}'".to_owned(),
                    });
                }
                Tok::RBrace if wrapped => return Ok(()),
                Tok::Semi => continue,
                Tok::Id(ref word)
                    if matches!(
                        word.to_ascii_lowercase().as_str(),
                        "node" | "edge" | "graph"
                    ) && matches!(self.peek()?.tok, Tok::LBracket) =>
                {
                    let what = word.to_ascii_lowercase();
                    self.skip_attr_lists(&what)?;
                }
                Tok::Id(ref word) if word.eq_ignore_ascii_case("subgraph") => {
                    return Err(DotError {
                        offset: t.offset,
                        message: "subgraphs are not supported".to_owned(),
                    });
                }
                Tok::LBrace => {
                    return Err(DotError {
                        offset: t.offset,
                        message: "subgraphs are not supported".to_owned(),
                    });
                }
                Tok::Id(_) | Tok::Quoted(..) | Tok::Html(_) => self.statement(t)?,
                other => {
                    return Err(DotError {
                        offset: t.offset,
                        message: format!("expected a task id, got {}", describe(&other)),
                    });
                }
            }
        }
    }

    fn id_text(tok: &Tok) -> Option<&str> {
        match tok {
            Tok::Id(s) | Tok::Html(s) | Tok::Quoted(s, _) => Some(s),
            _ => None,
        }
    }

    fn statement(&mut self, first: Token) -> Result<(), DotError> {
        let id = Self::id_text(&first.tok).unwrap_or("").to_owned();
        if id.is_empty() {
            return Err(DotError {
                offset: first.offset,
                message: "empty task id".to_owned(),
            });
        }
        self.skip_port()?;
        match self.peek()?.tok {
            Tok::Eq => {
                // Graph attribute `a = b`.
                self.next()?;
                let v = self.next()?;
                if Self::id_text(&v.tok).is_none() {
                    return Err(DotError {
                        offset: v.offset,
                        message: format!("expected a value, got {}", describe(&v.tok)),
                    });
                }
                self.graph
                    .warnings
                    .push(format!("graph attribute {id:?} ignored"));
                Ok(())
            }
            Tok::Edge => {
                let mut prev = self.node_index(&id, first.offset)?;
                while matches!(self.peek()?.tok, Tok::Edge) {
                    let op = self.next()?;
                    let t = self.next()?;
                    let Some(next_id) = Self::id_text(&t.tok).map(str::to_owned) else {
                        let message = if t.tok == Tok::LBrace {
                            "subgraphs are not supported".to_owned()
                        } else {
                            format!("expected a task id after '->', got {}", describe(&t.tok))
                        };
                        return Err(DotError {
                            offset: t.offset,
                            message,
                        });
                    };
                    if next_id.is_empty() {
                        return Err(DotError {
                            offset: t.offset,
                            message: "empty task id".to_owned(),
                        });
                    }
                    self.skip_port()?;
                    let next = self.node_index(&next_id, t.offset)?;
                    let dup = self
                        .graph
                        .edges
                        .iter()
                        .any(|e| e.from == prev && e.to == next);
                    if !dup {
                        self.graph.edges.push(DotEdge {
                            from: prev,
                            to: next,
                            offset: op.offset,
                        });
                    }
                    prev = next;
                }
                if matches!(self.peek()?.tok, Tok::LBracket) {
                    self.skip_attr_lists("edge")?;
                }
                Ok(())
            }
            Tok::LBracket => {
                let idx = self.node_index(&id, first.offset)?;
                let attrs = self.attr_lists()?;
                let node = self.graph.nodes.get_mut(idx).ok_or_else(|| DotError {
                    offset: first.offset,
                    message: "internal node index".to_owned(),
                })?;
                if node.defined {
                    return Err(DotError {
                        offset: first.offset,
                        message: format!("duplicate task id {id:?}"),
                    });
                }
                node.defined = true;
                node.offset = first.offset;
                node.attrs = attrs;
                Ok(())
            }
            _ => {
                // Bare node statement.
                self.node_index(&id, first.offset)?;
                Ok(())
            }
        }
    }

    fn skip_port(&mut self) -> Result<(), DotError> {
        if matches!(self.peek()?.tok, Tok::Colon) {
            let t = self.next()?;
            return Err(DotError {
                offset: t.offset,
                message: "node ports are not supported".to_owned(),
            });
        }
        Ok(())
    }

    fn skip_attr_lists(&mut self, what: &str) -> Result<(), DotError> {
        let attrs = self.attr_lists()?;
        if !attrs.is_empty() {
            let keys: Vec<&str> = attrs.iter().map(|a| a.key.as_str()).collect();
            self.graph
                .warnings
                .push(format!("{what} attributes ignored: {}", keys.join(", ")));
        }
        Ok(())
    }

    fn attr_lists(&mut self) -> Result<Vec<DotAttr>, DotError> {
        let mut attrs: Vec<DotAttr> = Vec::new();
        while matches!(self.peek()?.tok, Tok::LBracket) {
            self.next()?;
            loop {
                let t = self.next()?;
                match t.tok {
                    Tok::RBracket => break,
                    Tok::Comma | Tok::Semi => continue,
                    Tok::Id(_) | Tok::Quoted(..) | Tok::Html(_) => {
                        let key = Self::id_text(&t.tok).unwrap_or("").to_owned();
                        let eq = self.next()?;
                        if eq.tok != Tok::Eq {
                            return Err(DotError {
                                offset: eq.offset,
                                message: format!(
                                    "expected '=' after attribute {key:?}, got {}",
                                    describe(&eq.tok)
                                ),
                            });
                        }
                        let v = self.next()?;
                        let (value, value_map) = match v.tok {
                            Tok::Id(s) | Tok::Html(s) => (s, None),
                            Tok::Quoted(s, map) => (s, map),
                            other => {
                                return Err(DotError {
                                    offset: v.offset,
                                    message: format!(
                                        "expected a value for attribute {key:?}, got {}",
                                        describe(&other)
                                    ),
                                });
                            }
                        };
                        if attrs.iter().any(|a| a.key == key) {
                            return Err(DotError {
                                offset: t.offset,
                                message: format!("duplicate attribute {key:?}"),
                            });
                        }
                        attrs.push(DotAttr {
                            key,
                            key_offset: t.offset,
                            value,
                            value_offset: v.content_offset,
                            value_map,
                        });
                    }
                    other => {
                        return Err(DotError {
                            offset: t.offset,
                            message: format!(
                                "expected an attribute name or ']', got {}",
                                describe(&other)
                            ),
                        });
                    }
                }
            }
        }
        Ok(attrs)
    }
}

/// Parses DOT source into nodes, attributes and edges. Never panics.
pub fn parse_dot(src: &str) -> Result<DotGraph, DotError> {
    Parser {
        lex: Lexer { src, pos: 0 },
        peeked: None,
        graph: DotGraph::default(),
        index: HashMap::new(),
    }
    .parse()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_established_shape() {
        let src = r#"
            // comment
            fetch [type="http" method=GET url="https://x/\"q\"" index=0]
            parse [type=jsonparse path="a,b"]; # another
            /* block
               comment */
            multiply [type="multiply" times=100 data=<{"a": [1, <2>]}>]
            fetch -> parse -> multiply
        "#;
        let g = parse_dot(src).unwrap();
        assert_eq!(g.nodes.len(), 3);
        assert_eq!(g.edges.len(), 2);
        let fetch = &g.nodes[0];
        assert_eq!(fetch.attrs[2].value, "https://x/\"q\"");
        let url = &fetch.attrs[2];
        // The `"` inside the value maps back to the backslash that escaped it.
        assert_eq!(src.as_bytes()[url.source_offset(10)], b'\\');
        assert_eq!(g.nodes[2].attrs[2].value, r#"{"a": [1, <2>]}"#);
        assert_eq!(g.nodes[0].attrs[3].value, "0");
    }

    #[test]
    fn wrapper_and_errors() {
        let g = parse_dot("digraph G { a [type=x]; b [type=y]; a -> b }").unwrap();
        assert_eq!(g.edges.len(), 1);
        let e = parse_dot("a [type=x]\na [type=y]").unwrap_err();
        assert!(e.message.contains("duplicate task id"), "{e}");
        let e = parse_dot("a [type=\"x]").unwrap_err();
        assert!(e.message.contains("unterminated"), "{e}");
        let e = parse_dot("a [type x]").unwrap_err();
        assert_eq!(e.offset, 8);
        assert!(parse_dot("digraph { a [type=x]").is_err());
        assert!(parse_dot("a -> { b c }").is_err());
        assert!(parse_dot("a [type=x type=y]").is_err());
        assert!(parse_dot("a [t=1abc]").is_err());
        assert!(parse_dot("").unwrap().nodes.is_empty());
    }
}
