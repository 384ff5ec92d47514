/* corpuscope UI: loading states for forms, and charts drawn from the data attributes the
   server wrote (Chart.js, vendored). No inline scripts: the page's CSP allows this file only. */
"use strict";

document.addEventListener("DOMContentLoaded", function () {
  var status = document.querySelector(".loading");
  document.querySelectorAll("form[data-loading]").forEach(function (form) {
    form.addEventListener("submit", function () {
      if (status) {
        status.textContent = form.getAttribute("data-loading");
        status.hidden = false;
      }
      document.getElementById("main").setAttribute("aria-busy", "true");
      var button = form.querySelector("button[type=submit]");
      if (button) {
        setTimeout(function () { button.disabled = true; }, 0);
      }
    });
  });
  window.addEventListener("pageshow", function () { // back button: forms usable again
    document.querySelectorAll("form button[type=submit]").forEach(function (b) { b.disabled = false; });
    if (status) { status.hidden = true; }
  });
  drawCharts();
});

function drawCharts() {
  var canvases = document.querySelectorAll("canvas[data-kind]");
  if (!canvases.length) { return; }
  if (typeof Chart === "undefined") {
    canvases.forEach(function (c) {
      var p = document.createElement("p");
      p.className = "alert error";
      p.textContent = "The chart library did not load; the table below holds the figures.";
      c.parentNode.replaceWith(p);
    });
    return;
  }
  var style = getComputedStyle(document.documentElement);
  var ink = style.getPropertyValue("--ink").trim() || "#1b1f24";
  var accent = style.getPropertyValue("--accent").trim() || "#1f5fbf";
  Chart.defaults.color = ink;
  Chart.defaults.font.family = style.getPropertyValue("font-family");
  canvases.forEach(function (canvas) {
    var kind = canvas.getAttribute("data-kind");
    var horizontal = kind === "hbar";
    new Chart(canvas, {
      type: kind === "line" ? "line" : "bar",
      data: {
        labels: JSON.parse(canvas.getAttribute("data-labels")),
        datasets: [{
          label: canvas.getAttribute("data-title"),
          data: JSON.parse(canvas.getAttribute("data-values")),
          backgroundColor: accent,
          borderColor: accent,
          pointRadius: 3,
          maxBarThickness: 56,
        }],
      },
      options: {
        animation: false,
        responsive: true,
        maintainAspectRatio: false,
        indexAxis: horizontal ? "y" : "x",
        plugins: { legend: { display: false } },
        scales: {
          x: { beginAtZero: true, ticks: { autoSkip: !horizontal } },
          y: { beginAtZero: true, ticks: { autoSkip: horizontal ? false : true } },
        },
      },
    });
  });
}
