import { BarController, BarElement, CategoryScale, Chart, Filler, Legend, LinearScale, LineController, LineElement, PointElement, Tooltip } from 'chart.js';

// Only the parts the dashboards draw with, so the bundler leaves the rest of Chart.js out. This module
// is imported on first use (Charts.tsx), as a chunk of its own.
Chart.register(LineController, LineElement, PointElement, BarController, BarElement, CategoryScale, LinearScale, Legend, Tooltip, Filler);

export { Chart };
