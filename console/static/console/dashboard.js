// The console's dashboard charts (templates/admin/index.html). Chart.js is vendored by
// `make static` (pinned, from the npm registry); the data comes from console/dashboard.py.
(function () {
  "use strict";
  var source = document.getElementById("dash-charts");
  if (!source || typeof Chart === "undefined") return;
  var data = JSON.parse(source.textContent);
  var dark = document.documentElement.classList.contains("dark");
  Chart.defaults.color = dark ? "#cbd5e1" : "#475569";
  Chart.defaults.maintainAspectRatio = false;
  var purple = "#9333ea", teal = "#0d9488", amber = "#d97706", slate = "#64748b";

  new Chart(document.getElementById("chart-sales"), {
    data: {
      labels: data.days,
      datasets: [
        { type: "bar", label: "orders", data: data.orders, backgroundColor: purple, yAxisID: "y" },
        { type: "line", label: "revenue", data: data.revenue, borderColor: teal, yAxisID: "y1", tension: 0.25 },
      ],
    },
    options: {
      scales: {
        y: { beginAtZero: true, ticks: { precision: 0 }, title: { display: true, text: "orders" } },
        y1: { beginAtZero: true, position: "right", grid: { drawOnChartArea: false }, title: { display: true, text: "revenue" } },
      },
    },
  });

  var states = Object.keys(data.states);
  new Chart(document.getElementById("chart-states"), {
    type: "doughnut",
    data: {
      labels: states,
      datasets: [{ data: states.map(function (k) { return data.states[k]; }),
        backgroundColor: [purple, teal, amber, slate, "#dc2626", "#2563eb", "#16a34a", "#a16207", "#db2777"] }],
    },
    options: { plugins: { legend: { position: "bottom" } } },
  });

  new Chart(document.getElementById("chart-nodes"), {
    type: "bar",
    data: {
      labels: data.nodes.names,
      datasets: [
        { label: "memory %", data: data.nodes.memory, backgroundColor: purple },
        { label: "disk %", data: data.nodes.disk, backgroundColor: teal },
        { label: "ports %", data: data.nodes.ports, backgroundColor: amber },
      ],
    },
    options: { indexAxis: "y", scales: { x: { min: 0, max: 100 } } },
  });
})();
