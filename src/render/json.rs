//! JSON documents as Meridian prints them: pretty (two spaces), object keys sorted, the same
//! text `serde_json::to_string_pretty` gives for a `serde_json::Value` of the document.
//!
//! Built from the compact serialisation (each object's members found by skipping over their
//! values, then printed in key order), without a tree of maps: a plan of 70,000
//! resources took 1.2 GB as a `Value`, and its text is a tenth of that.

/// The document `doc` as sorted, pretty JSON, ending in a newline.
pub fn sorted_pretty<T: serde::Serialize>(doc: &T) -> Result<String, serde_json::Error> {
    let compact = serde_json::to_vec(doc)?;
    let mut out = String::with_capacity(compact.len() * 2);
    let mut pos = 0;
    value(&compact, &mut pos, 0, &mut out);
    out.push('\n');
    Ok(out)
}

/// Compact JSON text (a raw value's) as sorted, pretty JSON at `level`, as `sorted_pretty`
/// prints it inside a document.
pub(crate) fn pretty_compact(text: &str, level: usize) -> String {
    let mut out = String::with_capacity(text.len() * 2);
    let mut pos = 0;
    value(text.as_bytes(), &mut pos, level, &mut out);
    out
}

fn indent(out: &mut String, level: usize) {
    out.push('\n');
    for _ in 0..level {
        out.push_str("  ");
    }
}

/// One value at `pos` of serde_json's compact output (valid JSON, no whitespace).
fn value(text: &[u8], pos: &mut usize, level: usize, out: &mut String) {
    match text.get(*pos) {
        Some(b'{') => object(text, pos, level, out),
        Some(b'[') => array(text, pos, level, out),
        Some(b'"') => {
            let s = string(text, pos);
            out.push_str(s);
        }
        _ => {
            let start = *pos;
            while *pos < text.len() && !matches!(text[*pos], b',' | b']' | b'}') {
                *pos += 1;
            }
            out.push_str(&String::from_utf8_lossy(&text[start..*pos]));
        }
    }
}

/// A string token with its quotes, as written.
fn string<'a>(text: &'a [u8], pos: &mut usize) -> &'a str {
    let start = *pos;
    *pos += 1;
    while *pos < text.len() && text[*pos] != b'"' {
        if text[*pos] == b'\\' {
            *pos += 1;
        }
        *pos += 1;
    }
    *pos += 1;
    std::str::from_utf8(&text[start..(*pos).min(text.len())]).unwrap_or("\"\"")
}

fn array(text: &[u8], pos: &mut usize, level: usize, out: &mut String) {
    *pos += 1;
    if text.get(*pos) == Some(&b']') {
        *pos += 1;
        out.push_str("[]");
        return;
    }
    out.push('[');
    loop {
        indent(out, level + 1);
        value(text, pos, level + 1, out);
        match text.get(*pos) {
            Some(b',') => {
                out.push(',');
                *pos += 1;
            }
            _ => {
                *pos += 1;
                break;
            }
        }
    }
    indent(out, level);
    out.push(']');
}

/// An object, its members sorted by key (as a `serde_json::Map` orders them). The members are
/// found first by skipping over their values, then each value is printed in place in key
/// order: nothing is printed twice, so a large document is held once as compact text and once
/// as the result, never a third time in pieces.
fn object(text: &[u8], pos: &mut usize, level: usize, out: &mut String) {
    *pos += 1;
    if text.get(*pos) == Some(&b'}') {
        *pos += 1;
        out.push_str("{}");
        return;
    }
    let mut members: Vec<(std::borrow::Cow<str>, &str, usize)> = Vec::new();
    loop {
        let raw = string(text, pos);
        let key = if raw.contains('\\') {
            std::borrow::Cow::Owned(serde_json::from_str::<String>(raw).unwrap_or_default())
        } else {
            std::borrow::Cow::Borrowed(raw.trim_matches('"'))
        };
        *pos += 1; // ':'
        members.push((key, raw, *pos));
        skip(text, pos);
        let more = text.get(*pos) == Some(&b',');
        *pos += 1; // ',' or '}'
        if !more {
            break;
        }
    }
    // A repeated key keeps its last value, as a map does.
    members.reverse();
    members.sort_by(|a, b| a.0.cmp(&b.0));
    members.dedup_by(|a, b| a.0 == b.0);
    out.push('{');
    for (i, (_, raw, start)) in members.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        indent(out, level + 1);
        out.push_str(raw);
        out.push_str(": ");
        let mut at = *start;
        value(text, &mut at, level + 1, out);
    }
    indent(out, level);
    out.push('}');
}

/// Moves `pos` past the value at it.
fn skip(text: &[u8], pos: &mut usize) {
    if !matches!(text.get(*pos), Some(b'{' | b'[')) {
        if text.get(*pos) == Some(&b'"') {
            string(text, pos);
        }
        while *pos < text.len() && !matches!(text[*pos], b',' | b']' | b'}') {
            *pos += 1;
        }
        return;
    }
    let mut depth = 0usize;
    while *pos < text.len() {
        match text[*pos] {
            b'"' => {
                string(text, pos);
                continue;
            }
            b'{' | b'[' => depth += 1,
            b'}' | b']' => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    *pos += 1;
                    return;
                }
            }
            _ => {}
        }
        *pos += 1;
    }
}

#[cfg(test)]
pub(crate) mod tests {
    /// The same text as going through a `Value`, for awkward documents.
    #[test]
    fn equals_pretty_printing_a_value() {
        let docs = [
            serde_json::json!({"b": 1, "a": [1, 2.5, -3e-7, {"z": null, "y": true}], "c": {}, "d": []}),
            serde_json::json!([{"k\"ey": "v\\al\"ue", "a,b": "}{][", "é": "ü\u{1}"}]),
            serde_json::json!("just a string"),
            serde_json::json!({"nested": {"deeper": {"deepest": [[], [{}], [[1]]]}}}),
        ];
        for d in docs {
            let want = serde_json::to_string_pretty(&d).unwrap_or_default() + "\n";
            assert_eq!(super::sorted_pretty(&d).unwrap_or_default(), want);
        }
    }

    pub(crate) fn any_json() -> impl proptest::strategy::Strategy<Value = serde_json::Value> {
        use proptest::prelude::*;
        let leaf = prop_oneof![
            Just(serde_json::Value::Null),
            any::<bool>().prop_map(serde_json::Value::Bool),
            any::<i64>().prop_map(|n| serde_json::json!(n)),
            any::<f64>().prop_map(|n| serde_json::json!(n)),
            ".*".prop_map(serde_json::Value::String),
        ];
        leaf.prop_recursive(4, 64, 6, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..6).prop_map(serde_json::Value::Array),
                proptest::collection::btree_map(".{0,6}", inner, 0..6)
                    .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest::proptest! {
        /// Any JSON value prints as serde_json prints it.
        #[test]
        fn any_value_prints_as_serde_json_does(v in any_json()) {
            let want = serde_json::to_string_pretty(&v).unwrap_or_default() + "\n";
            proptest::prop_assert_eq!(super::sorted_pretty(&v).unwrap_or_default(), want);
        }
    }

    /// A struct's fields come out sorted, as its `Value` would.
    #[test]
    fn struct_fields_are_sorted() {
        #[derive(serde::Serialize)]
        struct S {
            zeta: u8,
            alpha: Vec<u8>,
            #[serde(flatten)]
            rest: std::collections::BTreeMap<String, f64>,
        }
        let s = S {
            zeta: 1,
            alpha: vec![2],
            rest: [("mid".to_string(), 0.1)].into_iter().collect(),
        };
        let via_value = serde_json::to_value(&s)
            .and_then(|v| serde_json::to_string_pretty(&v))
            .unwrap_or_default()
            + "\n";
        assert_eq!(super::sorted_pretty(&s).unwrap_or_default(), via_value);
    }
}
