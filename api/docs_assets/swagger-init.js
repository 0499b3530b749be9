// Starts Swagger UI on /api/docs. A file of its own, not an inline script, so the
// page satisfies the Content-Security-Policy (script-src 'self').
window.addEventListener("load", function () {
  var container = document.getElementById("swagger-ui-container");
  window.ui = SwaggerUIBundle({ url: container.dataset.specUrl, dom_id: "#swagger-ui-container" });
});
