// glassbox's service worker: keeps one build's app shell (index.html, its
// hashed JS, wasm and CSS, icons, assets/manifest.json) so the app opens
// with no network. Weights and data are not here: the app keeps them in its
// own cache, keyed by SHA-256 (app/src/assets.rs).
//
// `cargo xtask build` replaces the BUILD line below with the build's id and
// precache list. Without them (a sw.js served as it is) this worker serves nothing.
const BUILD = null;

const SHELL_PREFIX = "glassbox-shell-";

/// Deletes the shell caches whose name `doomed` accepts.
function dropShells(doomed) {
  return caches.keys().then((names) =>
    Promise.all(
      names
        .filter((name) => name.startsWith(SHELL_PREFIX) && doomed(name))
        .map((name) => caches.delete(name)),
    ),
  );
}

if (BUILD) {
  const SHELL = SHELL_PREFIX + BUILD.id;
  const precached = new Set(BUILD.precache);

  // The whole shell or nothing: addAll fails the install if any file fails,
  // and the previous build's worker then stays in charge.
  self.addEventListener("install", (event) => {
    event.waitUntil(
      caches
        .open(SHELL)
        .then((cache) =>
          cache.addAll(BUILD.precache.map((path) => new Request(path, { cache: "reload" }))),
        )
        .then(() => self.skipWaiting()),
    );
  });

  // A new build takes over at once and removes every other build's shell,
  // so two builds' files are never served together.
  self.addEventListener("activate", (event) => {
    event.waitUntil(dropShells((name) => name !== SHELL).then(() => self.clients.claim()));
  });

  self.addEventListener("fetch", (event) => {
    const request = event.request;
    if (request.method !== "GET") return;
    const url = new URL(request.url);
    if (url.origin !== self.location.origin) return;
    let key = null;
    // A route (/detr?x=…) is the app's page; a file opened in a tab is not.
    const leaf = url.pathname.split("/").pop();
    if (request.mode === "navigate" && !leaf.includes(".")) key = "/index.html";
    else if (precached.has(url.pathname)) key = url.pathname;
    if (key === null) return;
    // Cache first: a lecture hall's Wi-Fi may connect and then stall.
    event.respondWith(
      caches
        .open(SHELL)
        .then((cache) => cache.match(key))
        .then((hit) => hit || fetch(request)),
    );
  });
} else {
  // A development build: take over from an installed build's worker and
  // drop its shell, so such a server is never answered with an old build.
  self.addEventListener("install", () => self.skipWaiting());
  self.addEventListener("activate", (event) => {
    event.waitUntil(dropShells(() => true).then(() => self.clients.claim()));
  });
}
