/** The page's stylesheet, inlined so the report needs no other file. System fonts only. */
export const REPORT_STYLES = `
:root {
  --text: #1d232b; --muted: #5f6b7a; --line: #dde2e8; --faint: #f4f6f8; --accent: #2f5d8a;
  font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
  color: var(--text); background: #fff; line-height: 1.45;
}
* { box-sizing: border-box; }
body { margin: 0; }
.page-header { padding: 28px 40px 14px; border-bottom: 1px solid var(--line); background: var(--faint); }
main { padding: 0 40px 48px; max-width: 1480px; }
h1 { margin: 0 0 6px; font-size: 26px; font-weight: 650; }
h2 { margin: 36px 0 8px; font-size: 21px; font-weight: 650; padding-bottom: 6px; border-bottom: 2px solid var(--text); }
h2 .subtitle { font-size: 14px; font-weight: 400; color: var(--muted); margin-left: 8px; }
h3 { margin: 26px 0 8px; font-size: 16px; font-weight: 600; }
p { margin: 4px 0 8px; }
.overview { font-size: 15px; }
.how-to-read, .note, .muted { color: var(--muted); font-size: 13px; }
.notice { background: #fff4d6; border: 1px solid #e6c96a; border-radius: 4px; padding: 8px 12px; font-size: 14px; max-width: 900px; }
.contents { display: flex; flex-wrap: wrap; gap: 6px 14px; margin-top: 10px; font-size: 14px; }
.contents a { color: var(--accent); text-decoration: none; border-bottom: 1px solid transparent; }
.contents a:hover { border-bottom-color: var(--accent); }
code { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; font-size: 12px; }
.legend { list-style: none; display: flex; flex-wrap: wrap; gap: 4px 18px; padding: 0; margin: 6px 0 4px; font-size: 13px; }
.legend-entry { display: flex; align-items: center; gap: 6px; }
.swatch { width: 28px; height: 10px; flex: none; }
td .swatch { margin-right: 6px; vertical-align: middle; }
.panels { display: grid; grid-template-columns: repeat(auto-fill, minmax(360px, 1fr)); gap: 12px 28px; align-items: start; }
figure { margin: 0; }
.fusion-row { display: flex; flex-wrap: wrap; align-items: center; gap: 12px 36px; }
.fusion-row > figure { flex: 0 1 460px; min-width: 340px; }
.fusion-row > .table-scroll { flex: 0 1 auto; }
.panel figcaption { font-size: 14px; font-weight: 600; margin: 4px 0 2px 54px; display: flex; align-items: center; gap: 6px; }
.panel svg.plot { width: 100%; max-width: 520px; height: auto; display: block; }
svg.plot { font-size: 11px; overflow: visible; }
svg.plot .frame { fill: #fff; stroke: #b8c0ca; stroke-width: 1; }
svg.plot .grid { stroke: #e8ebef; stroke-width: 1; }
svg.plot .tick { fill: var(--muted); font-size: 10.5px; }
svg.plot .axis-label { fill: var(--text); font-size: 11.5px; }
svg.plot .std-band { fill-opacity: 0.14; stroke: none; }
svg.plot .mean-line { fill: none; stroke-width: 2; stroke-linejoin: round; stroke-linecap: round; }
svg.plot .mean-line.emphasis { stroke-width: 2.8; }
svg.plot .mean-point { stroke: #fff; stroke-width: 1; }
svg.plot .seed-point { fill: #fff; fill-opacity: 0.85; stroke-width: 1.2; stroke-opacity: 0.75; }
svg.heatmap .heat-cell { stroke: #fff; stroke-width: 1.5; }
svg.heatmap .cell-value { fill: #1d232b; font-size: 12px; font-variant-numeric: tabular-nums; }
svg.heatmap.compact .cell-value { font-size: 9px; }
svg.heatmap .cell-value.dark { fill: #fff; }
svg.heatmap .heat-label { fill: var(--text); font-size: 11px; }
svg.heatmap .source-swatch { stroke: rgba(0,0,0,0.15); }
svg.stacked-bars { width: 100%; max-width: 560px; height: auto; }
svg.stacked-bars .bar-segment { stroke: #fff; stroke-width: 1; }
svg.stacked-bars .bar-value { fill: #fff; font-size: 11px; font-weight: 600; paint-order: stroke; stroke: rgba(0,0,0,0.25); stroke-width: 2px; }
.attention-block { display: flex; flex-wrap: wrap; align-items: flex-start; gap: 12px 32px; margin: 10px 0 18px; padding: 12px 14px; border: 1px solid var(--line); border-radius: 6px; }
.attention-block figcaption { font-size: 13px; font-weight: 600; margin-bottom: 4px; }
.attention-block .heads { display: flex; flex-wrap: wrap; gap: 10px 14px; align-self: center; }
.attention-block .head figcaption { font-weight: 400; color: var(--muted); font-size: 12px; }
.table-scroll { overflow-x: auto; }
table { border-collapse: collapse; font-size: 13px; margin: 4px 0 8px; }
th, td { padding: 5px 12px; text-align: left; vertical-align: top; border-bottom: 1px solid var(--line); }
th { font-weight: 600; background: var(--faint); white-space: nowrap; }
td.number, th.number { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.best { font-weight: 700; }
td.missing { color: var(--muted); }
td.model { white-space: nowrap; }
tr.group-start td { border-top: 1px solid #b8c0ca; }
.tag { font-size: 11px; color: var(--accent); border: 1px solid var(--accent); border-radius: 8px; padding: 0 6px; margin-left: 4px; }
.delta { font-size: 12px; }
.delta.up { color: #2b7a3d; }
.delta.down { color: #b3362d; }
details summary { cursor: pointer; color: var(--accent); font-size: 13px; }
.all-metrics { margin: 4px 0 8px; }
.provenance-table td { font-size: 12.5px; }
.provenance-table td.weights div, .provenance-table td.config div, .provenance-table td.time, .provenance-table td.versions div, .provenance-table td.files code { white-space: nowrap; }
.provenance-table td.config div.options { white-space: normal; max-width: 260px; }
.provenance-table td.weights .swatch { width: 18px; margin-right: 4px; vertical-align: middle; }
.provenance-table ul { margin: 4px 0; padding-left: 16px; }
@media print { .page-header { background: none; } details { display: none; } }
`;
