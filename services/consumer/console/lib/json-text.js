// Formats JSON text for reading without parsing it into JavaScript values, so a number keeps
// every digit and a string every escape exactly as the server sent them. Text that is not JSON
// is returned unchanged.

/** @param {string} text @param {number} [indent] @returns {string} */
export function prettyJsonText(text, indent = 2) {
  try {
    JSON.parse(text);
  } catch {
    return text;
  }
  let out = '';
  let depth = 0;
  let inString = false;
  let escaped = false;
  const newline = () => `\n${' '.repeat(depth * indent)}`;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (inString) {
      out += ch;
      if (escaped) escaped = false;
      else if (ch === '\\') escaped = true;
      else if (ch === '"') inString = false;
      continue;
    }
    switch (ch) {
      case '"':
        inString = true;
        out += ch;
        break;
      case '{':
      case '[': {
        const close = ch === '{' ? '}' : ']';
        const next = nextSignificant(text, i + 1);
        if (text[next] === close) {
          out += ch + close;
          i = next;
        } else {
          depth += 1;
          out += ch + newline();
        }
        break;
      }
      case '}':
      case ']':
        depth -= 1;
        out += newline() + ch;
        break;
      case ',':
        out += `,${newline()}`;
        break;
      case ':':
        out += ': ';
        break;
      case ' ':
      case '\t':
      case '\n':
      case '\r':
        break;
      default:
        out += ch;
    }
  }
  return out;
}

function nextSignificant(text, from) {
  let i = from;
  while (i < text.length && ' \t\n\r'.includes(text[i])) i++;
  return i;
}
