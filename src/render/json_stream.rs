//! JSON documents written as they are serialised: the same bytes as [`super::json::sorted_pretty`]
//! (two-space indentation, object keys sorted as a `serde_json::Value`'s maps order them, a final
//! newline), without holding the document's text. A plan of 100,000 services is hundreds of MB
//! of JSON; this holds one object at a time.
//!
//! A value's shape is learned first without serialising its members ([`Probe`]): a struct whose
//! fields come in key order, a map whose keys do, and every array stream straight out; a struct
//! whose fields do not is written one field at a time in key order, serialised again for each
//! and keeping only that field ([`Pick`]: `Serialize` is deterministic); a map whose keys are out
//! of order (a flattened struct, say) and an enum's struct variant are small and are gathered,
//! sorted, then written. serde_json's raw values (a plan's `before` and `after`) are printed as
//! `sorted_pretty` prints them.

use serde::ser::{self, Impossible, Serialize};
use std::io::Write;

type Error = serde_json::Error;

/// serde_json's name for a raw value's struct and its one field.
const RAW: &str = "$serde_json::private::RawValue";

/// Writes `doc` to `w` as sorted, pretty JSON with a final newline.
pub fn write_sorted_pretty<T, W>(doc: &T, mut w: W) -> Result<(), Error>
where
    T: Serialize + ?Sized,
    W: Write,
{
    emit(doc, &mut w, 0)?;
    w.write_all(b"\n").map_err(Error::io)?;
    w.flush().map_err(Error::io)
}

fn put<W: Write>(w: &mut W, s: &str) -> Result<(), Error> {
    w.write_all(s.as_bytes()).map_err(Error::io)
}

fn newline<W: Write>(w: &mut W, level: usize) -> Result<(), Error> {
    put(w, "\n")?;
    for _ in 0..level {
        put(w, "  ")?;
    }
    Ok(())
}

/// A string as JSON.
fn quoted(s: &str) -> Result<String, Error> {
    serde_json::to_string(s)
}

/// An object with more keys than this, out of order, is gathered rather than serialised
/// again for each key.
const PICK_LIMIT: usize = 64;

/// One value at `level`: probed, then written in key order.
fn emit<T, W>(v: &T, w: &mut W, level: usize) -> Result<(), Error>
where
    T: Serialize + ?Sized,
    W: Write,
{
    let keys: Vec<String> = match v.serialize(Probe)? {
        Shape::Struct(keys) if !increasing(&keys) => keys.into_iter().map(String::from).collect(),
        Shape::Map(keys) if !increasing(&keys) && keys.len() <= PICK_LIMIT => keys,
        Shape::Map(keys) => {
            let gather = !increasing(&keys);
            return v.serialize(Pretty { w, level, gather });
        }
        _ => {
            return v.serialize(Pretty {
                w,
                level,
                gather: false,
            })
        }
    };
    // Each key once, in order; a repeated key keeps its last value, as a map does.
    let mut last: std::collections::BTreeMap<&str, usize> = std::collections::BTreeMap::new();
    for k in &keys {
        *last.entry(k.as_str()).or_insert(0) += 1;
    }
    put(w, "{")?;
    for (i, (key, n)) in last.into_iter().enumerate() {
        put(w, if i == 0 { "" } else { "," })?;
        newline(w, level + 1)?;
        put(w, &quoted(key)?)?;
        put(w, ": ")?;
        v.serialize(Pick::new(key, n - 1, w, level + 1))?;
    }
    newline(w, level)?;
    put(w, "}")
}

fn increasing<K: AsRef<str>>(keys: &[K]) -> bool {
    keys.windows(2).all(|p| p[0].as_ref() < p[1].as_ref())
}

/// What a value is, learned without serialising its members.
enum Shape {
    Struct(Vec<&'static str>),
    Map(Vec<String>),
    Other,
}

/// Learns a value's [`Shape`]: its struct fields or map keys, in the order they come.
struct Probe;

struct ProbeStruct(Vec<&'static str>);
struct ProbeMap(Vec<String>);
struct Ignore;

macro_rules! shape_other {
    ($($name:ident: $t:ty),*) => {
        $(fn $name(self, _: $t) -> Result<Shape, Error> { Ok(Shape::Other) })*
    };
}

impl ser::Serializer for Probe {
    type Ok = Shape;
    type Error = Error;
    type SerializeSeq = Ignore;
    type SerializeTuple = Ignore;
    type SerializeTupleStruct = Ignore;
    type SerializeTupleVariant = Ignore;
    type SerializeMap = ProbeMap;
    type SerializeStruct = ProbeStruct;
    type SerializeStructVariant = Ignore;

    shape_other!(serialize_bool: bool, serialize_i8: i8, serialize_i16: i16, serialize_i32: i32,
        serialize_i64: i64, serialize_i128: i128, serialize_u8: u8, serialize_u16: u16,
        serialize_u32: u32, serialize_u64: u64, serialize_u128: u128, serialize_f32: f32,
        serialize_f64: f64, serialize_char: char, serialize_str: &str, serialize_bytes: &[u8],
        serialize_unit_struct: &'static str);

    fn serialize_none(self) -> Result<Shape, Error> {
        Ok(Shape::Other)
    }
    fn serialize_some<T: Serialize + ?Sized>(self, v: &T) -> Result<Shape, Error> {
        v.serialize(self)
    }
    fn serialize_unit(self) -> Result<Shape, Error> {
        Ok(Shape::Other)
    }
    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
    ) -> Result<Shape, Error> {
        Ok(Shape::Other)
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        v: &T,
    ) -> Result<Shape, Error> {
        v.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result<Shape, Error> {
        Ok(Shape::Other)
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Ignore, Error> {
        Ok(Ignore)
    }
    fn serialize_tuple(self, _: usize) -> Result<Ignore, Error> {
        Ok(Ignore)
    }
    fn serialize_tuple_struct(self, _: &'static str, _: usize) -> Result<Ignore, Error> {
        Ok(Ignore)
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Ignore, Error> {
        Ok(Ignore)
    }
    fn serialize_map(self, _: Option<usize>) -> Result<ProbeMap, Error> {
        Ok(ProbeMap(Vec::new()))
    }
    fn serialize_struct(self, name: &'static str, _: usize) -> Result<ProbeStruct, Error> {
        // A raw value is printed from its text, never picked apart.
        Ok(ProbeStruct(if name == RAW {
            vec![RAW]
        } else {
            Vec::new()
        }))
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Ignore, Error> {
        Ok(Ignore)
    }
}

impl ser::SerializeStruct for ProbeStruct {
    type Ok = Shape;
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        _: &T,
    ) -> Result<(), Error> {
        if self.0 != [RAW] {
            self.0.push(key);
        }
        Ok(())
    }
    fn end(self) -> Result<Shape, Error> {
        Ok(if self.0 == [RAW] {
            Shape::Other
        } else {
            Shape::Struct(self.0)
        })
    }
}

impl ser::SerializeMap for ProbeMap {
    type Ok = Shape;
    type Error = Error;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), Error> {
        self.0.push(key.serialize(KeyString)?);
        Ok(())
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, _: &T) -> Result<(), Error> {
        Ok(())
    }
    fn end(self) -> Result<Shape, Error> {
        Ok(Shape::Map(self.0))
    }
}

macro_rules! ignore {
    ($($tr:ident :: $m:ident),*) => {
        $(impl ser::$tr for Ignore {
            type Ok = Shape;
            type Error = Error;
            fn $m<T: Serialize + ?Sized>(&mut self, _: &T) -> Result<(), Error> {
                Ok(())
            }
            fn end(self) -> Result<Shape, Error> {
                Ok(Shape::Other)
            }
        })*
    };
}
ignore!(
    SerializeSeq::serialize_element,
    SerializeTuple::serialize_element,
    SerializeTupleStruct::serialize_field,
    SerializeTupleVariant::serialize_field
);

impl ser::SerializeStructVariant for Ignore {
    type Ok = Shape;
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        _: &'static str,
        _: &T,
    ) -> Result<(), Error> {
        Ok(())
    }
    fn end(self) -> Result<Shape, Error> {
        Ok(Shape::Other)
    }
}

/// A map key as the string JSON writes (serde_json's rules: strings, chars, numbers, bools,
/// unit variants).
struct KeyString;

fn not_a_key() -> Error {
    ser::Error::custom("key must be a string")
}

macro_rules! key_to_string {
    ($($name:ident: $t:ty),*) => {
        $(fn $name(self, v: $t) -> Result<String, Error> { Ok(v.to_string()) })*
    };
}

impl ser::Serializer for KeyString {
    type Ok = String;
    type Error = Error;
    type SerializeSeq = Impossible<String, Error>;
    type SerializeTuple = Impossible<String, Error>;
    type SerializeTupleStruct = Impossible<String, Error>;
    type SerializeTupleVariant = Impossible<String, Error>;
    type SerializeMap = Impossible<String, Error>;
    type SerializeStruct = Impossible<String, Error>;
    type SerializeStructVariant = Impossible<String, Error>;

    key_to_string!(serialize_bool: bool, serialize_i8: i8, serialize_i16: i16,
        serialize_i32: i32, serialize_i64: i64, serialize_i128: i128, serialize_u8: u8,
        serialize_u16: u16, serialize_u32: u32, serialize_u64: u64, serialize_u128: u128,
        serialize_char: char, serialize_str: &str);

    fn serialize_f32(self, v: f32) -> Result<String, Error> {
        serde_json::to_string(&v)
    }
    fn serialize_f64(self, v: f64) -> Result<String, Error> {
        serde_json::to_string(&v)
    }
    fn serialize_bytes(self, _: &[u8]) -> Result<String, Error> {
        Err(not_a_key())
    }
    fn serialize_none(self) -> Result<String, Error> {
        Err(not_a_key())
    }
    fn serialize_some<T: Serialize + ?Sized>(self, _: &T) -> Result<String, Error> {
        Err(not_a_key())
    }
    fn serialize_unit(self) -> Result<String, Error> {
        Err(not_a_key())
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<String, Error> {
        Err(not_a_key())
    }
    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        v: &'static str,
    ) -> Result<String, Error> {
        Ok(v.to_string())
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        v: &T,
    ) -> Result<String, Error> {
        v.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result<String, Error> {
        Err(not_a_key())
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq, Error> {
        Err(not_a_key())
    }
    fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple, Error> {
        Err(not_a_key())
    }
    fn serialize_tuple_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleStruct, Error> {
        Err(not_a_key())
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant, Error> {
        Err(not_a_key())
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap, Error> {
        Err(not_a_key())
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Self::SerializeStruct, Error> {
        Err(not_a_key())
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant, Error> {
        Err(not_a_key())
    }
}

mod pick;
mod pretty;
use pick::Pick;
use pretty::Pretty;

#[cfg(test)]
mod tests {
    use super::write_sorted_pretty;

    fn streamed<T: serde::Serialize>(v: &T) -> String {
        let mut out = Vec::new();
        write_sorted_pretty(v, &mut out).unwrap_or_default();
        String::from_utf8(out).unwrap_or_default()
    }

    fn via_value<T: serde::Serialize>(v: &T) -> String {
        serde_json::to_value(v)
            .and_then(|v| serde_json::to_string_pretty(&v))
            .unwrap_or_default()
            + "\n"
    }

    /// Structs out of key order, flattened maps, enums of every kind, options, raw values,
    /// maps with number keys, empty containers: the bytes of going through a `Value`.
    #[test]
    #[allow(clippy::too_many_lines)] // one document of every shape, declared where it is used
    fn every_shape_prints_as_a_value_does() {
        use std::collections::BTreeMap;
        #[derive(serde::Serialize)]
        #[serde(tag = "kind", rename_all = "snake_case")]
        enum Tagged {
            Record { zone: String, ttl: u32 },
            Plain,
        }
        #[derive(serde::Serialize)]
        enum External {
            Unit,
            New(u8),
            Tuple(u8, String),
            Fields { z: bool, a: Option<u8> },
        }
        #[derive(serde::Serialize)]
        struct Inner {
            zeta: u8,
            alpha: Vec<u8>,
            #[serde(flatten)]
            rest: BTreeMap<String, f64>,
        }
        #[derive(serde::Serialize)]
        struct Doc {
            z_last: Vec<Inner>,
            tagged: Vec<Tagged>,
            external: Vec<External>,
            #[serde(skip_serializing_if = "Option::is_none")]
            skipped: Option<u8>,
            none: Option<u8>,
            some: Option<Inner>,
            raw: Box<serde_json::value::RawValue>,
            numbers: BTreeMap<u32, &'static str>,
            empty_map: BTreeMap<String, u8>,
            empty_vec: Vec<u8>,
            a_first: (u8, f64, char),
            unit: (),
            escaped: &'static str,
        }
        let inner = || Inner {
            zeta: 1,
            alpha: vec![2, 3],
            rest: [("mid".to_string(), 0.1), ("b".to_string(), -2e-9)]
                .into_iter()
                .collect(),
        };
        let doc = Doc {
            z_last: vec![inner(), inner()],
            tagged: vec![
                Tagged::Record {
                    zone: "example.com".into(),
                    ttl: 60,
                },
                Tagged::Plain,
            ],
            external: vec![
                External::Unit,
                External::New(7),
                External::Tuple(1, "x".into()),
                External::Fields { z: true, a: None },
            ],
            skipped: None,
            none: None,
            some: Some(inner()),
            raw: serde_json::value::RawValue::from_string(
                r#"{"z":[1,{"b":2,"a":"q\"uote"}],"a":{}}"#.into(),
            )
            .unwrap_or_else(|_| unreachable!()),
            numbers: [(10, "ten"), (9, "nine"), (100, "hundred")]
                .into_iter()
                .collect(),
            empty_map: BTreeMap::new(),
            empty_vec: Vec::new(),
            a_first: (1, f64::NAN, 'c'),
            unit: (),
            escaped: "tab\t \"quote\" \u{1} é",
        };
        assert_eq!(streamed(&doc), via_value(&doc));
        assert_eq!(
            streamed(&doc),
            super::super::json::sorted_pretty(&doc).unwrap_or_default()
        );
    }

    proptest::proptest! {
        /// Any JSON value streams as serde_json prints it.
        #[test]
        fn any_value_streams_as_serde_json_prints_it(v in crate::render::json::tests::any_json()) {
            proptest::prop_assert_eq!(streamed(&v), via_value(&v));
        }
    }
}
