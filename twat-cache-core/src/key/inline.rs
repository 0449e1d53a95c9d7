//! The inline fast path of [`KeyBuf::encode`](crate::KeyBuf::encode): a serde serializer
//! that writes postcard's exact bytes into a fixed buffer, and postcard's varint for the
//! code that lays out bytes by hand ([`Namespace`](crate::Namespace), the codec).
//!
//! Hand-written because no crate fits: `postcard::to_slice` produces the same bytes but is
//! several times slower for a key of a few integers (it goes through its flavor machinery
//! for every byte), and a memory hit pays for the key encoding on every call.

use serde::ser::{self, Serialize};

/// How many bytes the inline buffer holds; [`KeyBuf::INLINE`](crate::KeyBuf::INLINE).
pub(crate) const INLINE: usize = 30;

/// Why [`Writer`] gave up; [`KeyBuf::encode`](crate::KeyBuf::encode) then asks postcard.
#[derive(Debug)]
pub(crate) struct GaveUp;

impl std::fmt::Display for GaveUp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("not an inline postcard key")
    }
}

impl std::error::Error for GaveUp {}

impl ser::Error for GaveUp {
    fn custom<T: std::fmt::Display>(_: T) -> Self {
        Self
    }
}

type Result = std::result::Result<(), GaveUp>;

/// A serializer writing postcard's format into a zeroed `[u8; INLINE]`: LEB128
/// varints (zigzag for signed integers wider than a byte), floats little-endian,
/// length-prefixed strings, bytes and sequences, variant indices as varints, nothing
/// for tuples and struct boundaries. It fails (and postcard takes over) when the
/// encoding does not fit, a length is unknown, or for `collect_str`.
pub(super) struct Writer<'a> {
    /// Zeroed by the caller.
    pub(super) bytes: &'a mut [u8; INLINE],
    pub(super) len: usize,
}

impl Writer<'_> {
    /// The encoded length.
    #[inline]
    #[allow(
        clippy::cast_possible_truncation,
        reason = "len <= INLINE < 256 is kept by every push"
    )]
    pub(super) const fn finish(&self) -> u8 {
        self.len as u8
    }

    #[inline]
    fn push(&mut self, byte: u8) -> Result {
        let slot = self.bytes.get_mut(self.len).ok_or(GaveUp)?;
        *slot = byte;
        self.len += 1;
        Ok(())
    }

    #[inline]
    fn extend(&mut self, data: &[u8]) -> Result {
        let end = self.len + data.len();
        self.bytes
            .get_mut(self.len..end)
            .ok_or(GaveUp)?
            .copy_from_slice(data);
        self.len = end;
        Ok(())
    }

    /// LEB128, as postcard's `varint_u*`: seven bits a byte, low first, high bit set
    /// on every byte but the last.
    #[inline]
    #[allow(
        clippy::cast_possible_truncation,
        reason = "each byte keeps the low 7 bits on purpose (LEB128)"
    )]
    fn varint(&mut self, mut value: u64) -> Result {
        while value >= 0x80 {
            self.push((value as u8) | 0x80)?;
            value >>= 7;
        }
        self.push(value as u8)
    }

    /// [`Writer::varint`] for 128-bit integers.
    #[allow(
        clippy::cast_possible_truncation,
        reason = "each byte keeps the low 7 bits on purpose (LEB128)"
    )]
    fn varint_wide(&mut self, mut value: u128) -> Result {
        while value >= 0x80 {
            self.push((value as u8) | 0x80)?;
            value >>= 7;
        }
        self.push(value as u8)
    }
}

impl ser::Serializer for &mut Writer<'_> {
    type Ok = ();
    type Error = GaveUp;
    type SerializeSeq = Self;
    type SerializeTuple = Self;
    type SerializeTupleStruct = Self;
    type SerializeTupleVariant = Self;
    type SerializeMap = Self;
    type SerializeStruct = Self;
    type SerializeStructVariant = Self;

    #[inline]
    fn is_human_readable(&self) -> bool {
        false
    }
    #[inline]
    fn serialize_bool(self, v: bool) -> Result {
        self.push(u8::from(v))
    }
    #[inline]
    fn serialize_i8(self, v: i8) -> Result {
        self.push(v.to_le_bytes()[0])
    }
    #[inline]
    fn serialize_i16(self, v: i16) -> Result {
        self.varint(u64::from(((v << 1) ^ (v >> 15)).cast_unsigned()))
    }
    #[inline]
    fn serialize_i32(self, v: i32) -> Result {
        self.varint(u64::from(((v << 1) ^ (v >> 31)).cast_unsigned()))
    }
    #[inline]
    fn serialize_i64(self, v: i64) -> Result {
        self.varint(((v << 1) ^ (v >> 63)).cast_unsigned())
    }
    #[inline]
    fn serialize_i128(self, v: i128) -> Result {
        self.varint_wide(((v << 1) ^ (v >> 127)).cast_unsigned())
    }
    #[inline]
    fn serialize_u8(self, v: u8) -> Result {
        self.push(v)
    }
    #[inline]
    fn serialize_u16(self, v: u16) -> Result {
        self.varint(u64::from(v))
    }
    #[inline]
    fn serialize_u32(self, v: u32) -> Result {
        self.varint(u64::from(v))
    }
    #[inline]
    fn serialize_u64(self, v: u64) -> Result {
        self.varint(v)
    }
    #[inline]
    fn serialize_u128(self, v: u128) -> Result {
        self.varint_wide(v)
    }
    #[inline]
    fn serialize_f32(self, v: f32) -> Result {
        self.extend(&v.to_bits().to_le_bytes())
    }
    #[inline]
    fn serialize_f64(self, v: f64) -> Result {
        self.extend(&v.to_bits().to_le_bytes())
    }
    #[inline]
    fn serialize_char(self, v: char) -> Result {
        let mut buf = [0_u8; 4];
        self.serialize_str(v.encode_utf8(&mut buf))
    }
    #[inline]
    fn serialize_str(self, v: &str) -> Result {
        self.serialize_bytes(v.as_bytes())
    }
    #[inline]
    fn serialize_bytes(self, v: &[u8]) -> Result {
        self.varint(v.len() as u64)?;
        self.extend(v)
    }
    #[inline]
    fn serialize_none(self) -> Result {
        self.push(0)
    }
    #[inline]
    fn serialize_some<T: ?Sized + Serialize>(self, value: &T) -> Result {
        self.push(1)?;
        value.serialize(self)
    }
    #[inline]
    fn serialize_unit(self) -> Result {
        Ok(())
    }
    #[inline]
    fn serialize_unit_struct(self, _: &'static str) -> Result {
        Ok(())
    }
    #[inline]
    fn serialize_unit_variant(self, _: &'static str, index: u32, _: &'static str) -> Result {
        self.varint(u64::from(index))
    }
    #[inline]
    fn serialize_newtype_struct<T: ?Sized + Serialize>(self, _: &'static str, value: &T) -> Result {
        value.serialize(self)
    }
    #[inline]
    fn serialize_newtype_variant<T: ?Sized + Serialize>(
        self,
        _: &'static str,
        index: u32,
        _: &'static str,
        value: &T,
    ) -> Result {
        self.varint(u64::from(index))?;
        value.serialize(self)
    }
    #[inline]
    fn serialize_seq(self, len: Option<usize>) -> std::result::Result<Self, GaveUp> {
        self.varint(len.ok_or(GaveUp)? as u64)?;
        Ok(self)
    }
    #[inline]
    fn serialize_tuple(self, _: usize) -> std::result::Result<Self, GaveUp> {
        Ok(self)
    }
    #[inline]
    fn serialize_tuple_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> std::result::Result<Self, GaveUp> {
        Ok(self)
    }
    #[inline]
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        index: u32,
        _: &'static str,
        _: usize,
    ) -> std::result::Result<Self, GaveUp> {
        self.varint(u64::from(index))?;
        Ok(self)
    }
    #[inline]
    fn serialize_map(self, len: Option<usize>) -> std::result::Result<Self, GaveUp> {
        self.varint(len.ok_or(GaveUp)? as u64)?;
        Ok(self)
    }
    #[inline]
    fn serialize_struct(self, _: &'static str, _: usize) -> std::result::Result<Self, GaveUp> {
        Ok(self)
    }
    #[inline]
    fn serialize_struct_variant(
        self,
        _: &'static str,
        index: u32,
        _: &'static str,
        _: usize,
    ) -> std::result::Result<Self, GaveUp> {
        self.varint(u64::from(index))?;
        Ok(self)
    }
    fn collect_str<T: ?Sized + std::fmt::Display>(self, _: &T) -> Result {
        Err(GaveUp)
    }
}

/// Every compound is its elements in order, with nothing around them.
macro_rules! elements {
    ($($trait:ident :: $method:ident),*) => {$(
        impl ser::$trait for &mut Writer<'_> {
            type Ok = ();
            type Error = GaveUp;
            #[inline]
            fn $method<T: ?Sized + Serialize>(&mut self, value: &T) -> Result {
                value.serialize(&mut **self)
            }
            #[inline]
            fn end(self) -> Result {
                Ok(())
            }
        }
    )*};
}
elements!(
    SerializeSeq::serialize_element,
    SerializeTuple::serialize_element,
    SerializeTupleStruct::serialize_field,
    SerializeTupleVariant::serialize_field
);

macro_rules! fields {
    ($($trait:ident),*) => {$(
        impl ser::$trait for &mut Writer<'_> {
            type Ok = ();
            type Error = GaveUp;
            #[inline]
            fn serialize_field<T: ?Sized + Serialize>(
                &mut self,
                _: &'static str,
                value: &T,
            ) -> Result {
                value.serialize(&mut **self)
            }
            #[inline]
            fn end(self) -> Result {
                Ok(())
            }
        }
    )*};
}
fields!(SerializeStruct, SerializeStructVariant);

impl ser::SerializeMap for &mut Writer<'_> {
    type Ok = ();
    type Error = GaveUp;
    #[inline]
    fn serialize_key<T: ?Sized + Serialize>(&mut self, key: &T) -> Result {
        key.serialize(&mut **self)
    }
    #[inline]
    fn serialize_value<T: ?Sized + Serialize>(&mut self, value: &T) -> Result {
        value.serialize(&mut **self)
    }
    #[inline]
    fn end(self) -> Result {
        Ok(())
    }
}

#[allow(
    clippy::cast_possible_truncation,
    reason = "each byte keeps the low 7 bits on purpose (LEB128)"
)]
/// Appends `value` as postcard's LEB128 varint.
pub(crate) fn push_varint(bytes: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        bytes.push((value as u8) | 0x80);
        value >>= 7;
    }
    bytes.push(value as u8);
}
