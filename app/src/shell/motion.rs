//! The visitor's motion preference: with `prefers-reduced-motion: reduce`,
//! nothing animates on its own (samples wait for Play); CSS stops
//! transitions in `style.css`.

/// Whether the browser asks for reduced motion.
pub fn reduced() -> bool {
    web_sys::window()
        .and_then(|w| {
            w.match_media("(prefers-reduced-motion: reduce)")
                .ok()
                .flatten()
        })
        .is_some_and(|m| m.matches())
}
