//! Texts in the page's language, as values: what chapters, sections, decks
//! and widgets are made of.

use crate::i18n::Locale;

/// A text in the page's language, from the locale files.
pub type Text = fn(Locale) -> &'static str;

/// `text!(namespace.key)`: the [`Text`] under `key` in
/// `locales/<lang>/<namespace>.json`.
macro_rules! text {
    ($namespace:ident . $key:ident) => {
        |locale: $crate::i18n::Locale| $crate::i18n::td_string!(locale, $namespace.$key)
    };
}
pub(crate) use text;
