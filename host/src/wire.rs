//! Wire words: enums whose variants are fixed words on the wire (JSON outputs, stored state).
//!
//! One mechanism for every such enum ([`wire_enum!`]): the words are written once, next to the
//! variants, and `ALL`, `as_str`, `from_name` and serde follow from them.

/// Defines a wire enum: `ALL`, `as_str`, `from_name`, and serde as its words (an unknown word
/// reads as `None` where the field is optional).
macro_rules! wire_enum {
    ($(#[$m:meta])* $name:ident { $($(#[$vm:meta])* $v:ident => $s:literal),* $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name { $($(#[$vm])* $v),* }
        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$v),*];
            pub fn as_str(self) -> &'static str {
                match self { $($name::$v => $s),* }
            }
            pub fn from_name(s: &str) -> Option<$name> {
                Self::ALL.iter().copied().find(|v| v.as_str() == s)
            }
        }
        impl $crate::wire::Wire for $name {
            fn all() -> &'static [$name] {
                $name::ALL
            }
            fn word(self) -> &'static str {
                self.as_str()
            }
        }
        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }
        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<$name, D::Error> {
                let word = <String as serde::Deserialize>::deserialize(d)?;
                $name::from_name(&word).ok_or_else(|| serde::de::Error::custom("unknown word"))
            }
        }
    };
}
pub(crate) use wire_enum;

/// What every wire enum offers ([`wire_enum!`] implements it): its variants and their words, so
/// that an argument's choices and an output schema's `enum` are read from the enum itself.
pub trait Wire: Copy + 'static {
    fn all() -> &'static [Self];
    fn word(self) -> &'static str;

    fn parse_word(s: &str) -> Option<Self> {
        Self::all().iter().copied().find(|v| v.word() == s)
    }

    fn words() -> Vec<&'static str> {
        Self::all().iter().map(|v| v.word()).collect()
    }

    /// A stored word read back as one of this enum's words, or `None` (a tampered record
    /// cannot smuggle text out through a field with a fixed vocabulary).
    fn known(stored: &Option<String>) -> Option<&'static str> {
        stored.as_deref().and_then(Self::parse_word).map(Self::word)
    }
}
