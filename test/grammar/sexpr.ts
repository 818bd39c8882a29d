/**
 * A compact S-expression view of AST nodes for assertions: `(+ a (* b c))`. Spans are left out;
 * tests that care about positions check them separately.
 */
import type * as ast from '../../grammar/ast.ts';

export function sexpr(node: ast.Expr | ast.Item): string {
  switch (node.kind) {
    case 'number':
      return node.text;
    case 'bool':
      return String(node.value);
    case 'name':
      return node.name.text;
    case 'access':
      return `${node.tensor.text}[${node.subscripts.map(sexpr).join(' ')}]`;
    case 'call':
      return `(${node.callee.text} ${node.args.map(sexpr).join(' ')})`.replace(' )', ')');
    case 'macro':
      return `(${node.callee.text}[${node.indices.map((i) => i.text).join(' ')}] ${node.args.map(sexpr).join(' ')})`;
    case 'unary':
      return `(${node.op} ${sexpr(node.operand)})`;
    case 'binary':
      return `(${node.op} ${sexpr(node.left)} ${sexpr(node.right)})`;
    case 'reduction':
      return `(${node.reducer}[${node.indices.map((i) => i.text).join(' ')}] ${sexpr(node.body)})`;
    case 'paren':
      return `{${sexpr(node.inner)}}`;
    case 'error':
      return '<error>';
    case 'input':
      return `input ${node.name.text}[${node.indices.map((i) => i.text).join(' ')}]${node.dtype ? `: ${node.dtype.text}` : ''}`;
    case 'param':
      return `param ${node.name.text}${node.type ? `: ${node.type.text}` : ''} = ${sexpr(node.value)}`;
    case 'const':
      return `const ${node.name.text} = ${sexpr(node.value)}`;
    case 'output':
      return `output ${node.names.map((n) => n.text).join(' ')}`;
    case 'init':
      return `init ${node.target.text}[${node.subscripts.map(sexpr).join(' ')}] = ${sexpr(node.value)}`;
    case 'equation':
      return `${node.target.text}[${node.subscripts.map(sexpr).join(' ')}] = ${sexpr(node.value)}${
        node.filter ? ` where ${sexpr(node.filter)}` : ''
      }`;
    case 'schedule':
      return `schedule{${node.entries
        .map(
          (e) =>
            `${e.verb.text} ${e.target.text}${e.value ? ` ${e.value.kind === 'number' ? e.value.text : e.value.text}` : ''}`,
        )
        .join('; ')}}`;
  }
}
