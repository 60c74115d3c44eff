import type { Paint, Style } from './style.js';

export interface Column {
  header: string;
  align?: 'left' | 'right';
}

export interface Cell {
  text: string;
  style?: Style;
}

/**
 * A plain text table: a header, a rule, one line per row, columns two spaces apart. Widths come
 * from the plain text; colour is applied after padding, so escape codes never skew the columns.
 */
export function renderTable(columns: Column[], rows: (string | Cell)[][], paint: Paint): string[] {
  const cells = rows.map((row) => row.map((c) => (typeof c === 'string' ? { text: c } : c)));
  const widths = columns.map((col, i) =>
    Math.max(col.header.length, ...cells.map((row) => row[i]?.text.length ?? 0)),
  );
  const pad = (text: string, i: number) =>
    columns[i]?.align === 'right' ? text.padStart(widths[i]!) : text.padEnd(widths[i]!);
  const line = (parts: string[]) => parts.join('  ').trimEnd();
  return [
    line(columns.map((col, i) => paint('bold', pad(col.header, i)))),
    line(widths.map((w) => '-'.repeat(w))),
    ...cells.map((row) =>
      line(
        row.map((cell, i) =>
          cell.style ? paint(cell.style, pad(cell.text, i)) : pad(cell.text, i),
        ),
      ),
    ),
  ];
}
