//! Drawing pads by keyboard, shared by chapter 1's 28×28 grid and DETR's
//! 96×96 canvas: what each key does, and the sentence a screen reader hears
//! after it. Pure functions; each pad applies the action to its own pixels.

use crate::{
    i18n::{td_string, Locale},
    shell::format::fill,
};

/// What a key does on a focused drawing pad.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PadKey {
    /// Move the cursor by (rows, columns); with `paint`, ink each cell it
    /// reaches (Shift + arrow draws a stroke).
    Move { rows: i32, cols: i32, paint: bool },
    /// Ink the cursor's cell.
    Paint,
    /// Erase the cursor's cell.
    Erase,
    /// Leave the pad: focus moves on, so Tab order resumes.
    Leave,
}

/// The action for a `KeyboardEvent.key`, or `None` for keys the pad leaves
/// to the page (Tab, letters, the presentation's keys).
pub fn pad_key(key: &str, shift: bool) -> Option<PadKey> {
    let step = |rows, cols| PadKey::Move {
        rows,
        cols,
        paint: shift,
    };
    Some(match key {
        "ArrowUp" => step(-1, 0),
        "ArrowDown" => step(1, 0),
        "ArrowLeft" => step(0, -1),
        "ArrowRight" => step(0, 1),
        " " | "Enter" => PadKey::Paint,
        "Delete" | "Backspace" => PadKey::Erase,
        "Escape" => PadKey::Leave,
        _ => return None,
    })
}

/// The cursor after a move, kept inside a `side`×`side` grid.
pub fn moved(cursor: (usize, usize), rows: i32, cols: i32, side: usize) -> (usize, usize) {
    let clamp = |v: usize, d: i32| (v as i64 + d as i64).clamp(0, side as i64 - 1) as usize;
    (clamp(cursor.0, rows), clamp(cursor.1, cols))
}

/// What changed, for the pad's `aria-live` region: the cursor's row and
/// column (1-based, as a reader counts), what happened there, and how much
/// of the pad is inked.
pub fn summary(
    locale: Locale,
    cursor: (usize, usize),
    action: Option<PadKey>,
    inked: usize,
    total: usize,
) -> String {
    let done = match action {
        Some(PadKey::Paint) | Some(PadKey::Move { paint: true, .. }) => {
            td_string!(locale, shell.pad_inked)
        }
        Some(PadKey::Erase) => td_string!(locale, shell.pad_erased),
        _ => td_string!(locale, shell.pad_cursor),
    };
    fill(
        td_string!(locale, shell.pad_summary),
        &[
            ("row", &(cursor.0 + 1)),
            ("column", &(cursor.1 + 1)),
            ("done", &done),
            ("inked", &inked),
            ("total", &total),
        ],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_map_to_actions() {
        assert_eq!(
            pad_key("ArrowDown", false),
            Some(PadKey::Move {
                rows: 1,
                cols: 0,
                paint: false
            })
        );
        assert_eq!(
            pad_key("ArrowLeft", true),
            Some(PadKey::Move {
                rows: 0,
                cols: -1,
                paint: true
            })
        );
        assert_eq!(pad_key(" ", false), Some(PadKey::Paint));
        assert_eq!(pad_key("Delete", false), Some(PadKey::Erase));
        assert_eq!(pad_key("Escape", false), Some(PadKey::Leave));
        // Tab and letters (the presentation's F, T, ?) stay with the page.
        assert_eq!(pad_key("Tab", false), None);
        assert_eq!(pad_key("f", false), None);
    }

    #[test]
    fn the_cursor_stays_on_the_grid() {
        assert_eq!(moved((0, 0), -1, -1, 28), (0, 0));
        assert_eq!(moved((27, 27), 1, 1, 28), (27, 27));
        assert_eq!(moved((5, 9), 1, -1, 28), (6, 8));
    }

    #[test]
    fn the_summary_says_where_and_what() {
        assert_eq!(
            summary(Locale::en, (13, 4), Some(PadKey::Paint), 12, 784),
            "Row 14, column 5: inked. 12 of 784 pixels inked."
        );
        assert_eq!(
            summary(Locale::en, (0, 0), Some(PadKey::Erase), 0, 784),
            "Row 1, column 1: erased. 0 of 784 pixels inked."
        );
    }
}
