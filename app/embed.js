/* glassbox embed helper: keeps embedded glassbox widgets as tall as their
   content. Add it once, after your iframes:
     <script src="https://GLASSBOX-ORIGIN/embed.js" async></script>
   It listens for the widgets' glassbox/1 "resize" messages and sets the
   height of the iframe that sent each one. Nothing else. */
(function () {
  "use strict";
  var frames = 'iframe[data-glassbox], iframe[src*="/embed/"]';
  addEventListener("message", function (event) {
    var m = event.data;
    if (!m || m.ns !== "glassbox" || m.v !== 1 || m.type !== "resize") return;
    var h = Number(m.height);
    if (!(h >= 0 && h < 1e5)) return;
    var list = document.querySelectorAll(frames);
    for (var i = 0; i < list.length; i++) {
      var f = list[i];
      // Only the frame that sent it, and only from the origin it shows.
      if (f.contentWindow !== event.source) continue;
      try {
        if (new URL(f.src, location.href).origin !== event.origin) continue;
      } catch (e) {
        continue;
      }
      f.style.height = Math.ceil(h) + "px";
    }
  });
})();
