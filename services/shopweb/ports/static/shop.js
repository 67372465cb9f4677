// Live order status: the element with data-live="URL" is replaced by each
// server-sent "order" event's HTML (the server decides what is current,
// pending or behind). Without JavaScript the page still works by reloading.
(function () {
  document.querySelectorAll("[data-live]").forEach(function (el) {
    var es = new EventSource(el.getAttribute("data-live"));
    es.addEventListener("order", function (ev) { el.innerHTML = ev.data; });
    es.addEventListener("done", function () { es.close(); });
    es.onerror = function () {
      var s = el.querySelector("[data-state]");
      if (s) { s.setAttribute("data-state", "offline"); }
      var n = el.querySelector(".note");
      if (n) { n.textContent = "Connection to the shop lost; retrying. The status shown may be out of date."; }
    };
  });
})();
