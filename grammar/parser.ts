/**
 * The grammar of `.attn`, as a pure Chevrotain grammar: rules only, no actions. The CST it
 * produces is turned into the AST by `cst-to-ast.ts`; its types are in `cst.generated.d.ts`.
 *
 * Precedence, lowest first, is rule nesting: `||`, `&&`, comparison, `+ -`, `* / %`, prefix
 * `- !`, primary. A reduction `sum[m] body` sits at the prefix level but its body is a whole
 * expression, so it extends as far right as possible (like a lambda): `sum[m] a * b + c` reduces
 * `a * b + c`, and `x + sum[m] y` parses (the checker rejects a reduction that is not the whole
 * right-hand side, with a better message than a syntax error could give).
 *
 * Newlines mean nothing to the grammar: items are told apart by their first token.
 */
import {
  CstParser,
  EOF,
  tokenLabel,
  type IParserErrorMessageProvider,
  type TokenType,
} from 'chevrotain';
import {
  AdditiveOperator,
  ALL_TOKENS,
  AndAnd,
  Attention,
  Colon,
  Comma,
  ComparisonOperator,
  Const,
  Equals,
  False,
  Identifier,
  Init,
  Input,
  LBrace,
  LBracket,
  LParen,
  Max,
  Min,
  MultiplicativeOperator,
  NumberLiteral,
  OrOr,
  Output,
  Param,
  RBrace,
  RBracket,
  Reducer,
  RParen,
  Schedule,
  Semicolon,
  Sum,
  True,
  UnaryOperator,
  Where,
} from './tokens.ts';

const ITEM_STARTS: readonly TokenType[] = [
  Attention,
  Input,
  Param,
  Const,
  Output,
  Init,
  Schedule,
  Identifier,
];

const INSERTABLE: readonly TokenType[] = [RBracket, RParen, RBrace, LBrace, Identifier];

const AN_EXPRESSION = 'an expression';
const AN_INDEX_NAME = 'an index name';
const A_TENSOR_NAME = 'a tensor name';

/** What a name is for, by the rule that expects it: "expected a tensor name" beats "a name". */
const IDENTIFIER_ROLE: Record<string, string> = {
  attention: 'a name for the attention block',
  inputDecl: A_TENSOR_NAME,
  outputDecl: A_TENSOR_NAME,
  initStmt: A_TENSOR_NAME,
  equation: A_TENSOR_NAME,
  paramDecl: 'a param name',
  constDecl: 'a const name',
  typeAnnotation: 'a type (`f32`, `f16`, `i32` or `bool`)',
  scheduleEntry: 'a schedule directive (`tile`, `fuse`, `group` or `split`) and its operand',
  indexList: AN_INDEX_NAME,
};

function oneOf(labels: readonly string[]): string {
  const unique = [...new Set(labels)];
  if (unique.length <= 1) return unique[0] ?? 'something else';
  return `${unique.slice(0, -1).join(', ')} or ${unique[unique.length - 1]}`;
}

function firstTokens(paths: readonly (readonly TokenType[])[]): string[] {
  return paths.filter((p) => p.length > 0).map((p) => tokenLabel(p[0]));
}

/**
 * Every message is only the "expected ..." phrase in words; `index.ts` puts it in E010/E011
 * together with the token actually found.
 */
const expectedPhrases: IParserErrorMessageProvider = {
  buildMismatchTokenMessage({ expected, actual, ruleName }) {
    if (expected === Identifier) return IDENTIFIER_ROLE[ruleName] ?? tokenLabel(Identifier);
    // After the last block only another block may follow.
    if (expected === EOF) return tokenLabel(Attention);
    // The block's item loop stopped at something that is not an item.
    if (expected === RBrace && ruleName === 'attention' && actual.tokenType !== EOF) {
      return 'a declaration, an equation or `}`';
    }
    return tokenLabel(expected);
  },
  buildNotAllInputParsedMessage() {
    return tokenLabel(Attention);
  },
  buildNoViableAltMessage({ expectedPathsPerAlt, customUserDescription }) {
    return customUserDescription ?? oneOf(expectedPathsPerAlt.flatMap(firstTokens));
  },
  buildEarlyExitMessage({ expectedIterationPaths, customUserDescription }) {
    return customUserDescription ?? oneOf(firstTokens(expectedIterationPaths));
  },
};

export class AttnParser extends CstParser {
  constructor() {
    super(ALL_TOKENS, {
      recoveryEnabled: true,
      nodeLocationTracking: 'full',
      errorMessageProvider: expectedPhrases,
    });
    this.performSelfAnalysis();
  }

  /**
   * Recovery inserts only closing brackets, `{` and names. Inserting an opener or `=` lets an
   * item that recovery entered mid-line (`K[b]` after a stray `)`) swallow the next line as its
   * subscripts or value, misaligning every line after it; refusing makes the parser resynchronise
   * at the next item instead.
   */
  override canTokenTypeBeInsertedInRecovery(tokenType: TokenType): boolean {
    return INSERTABLE.includes(tokenType);
  }

  /**
   * Recovery may skip one unexpected token (`LA(1)`, despite the parameter naming the expected
   * type) unless it can start an item or a block: that is where to resynchronise instead.
   */
  override canTokenTypeBeDeletedInRecovery(): boolean {
    return !ITEM_STARTS.includes(this.LA(1).tokenType);
  }

  /** A file: zero or more blocks (an empty file is the checker's E012, not a syntax error). */
  module = this.RULE('module', () => {
    this.MANY(() => this.SUBRULE(this.attention));
  });

  attention = this.RULE('attention', () => {
    this.CONSUME(Attention);
    this.CONSUME(Identifier);
    this.CONSUME(LBrace);
    this.MANY(() =>
      this.OR([{ ALT: () => this.SUBRULE(this.item) }, { ALT: () => this.CONSUME(Semicolon) }]),
    );
    this.CONSUME(RBrace);
  });

  /** One token decides the item, so recovery can restart at any of these. */
  item = this.RULE('item', () => {
    this.OR({
      DEF: [
        { ALT: () => this.SUBRULE(this.inputDecl) },
        { ALT: () => this.SUBRULE(this.paramDecl) },
        { ALT: () => this.SUBRULE(this.constDecl) },
        { ALT: () => this.SUBRULE(this.outputDecl) },
        { ALT: () => this.SUBRULE(this.initStmt) },
        { ALT: () => this.SUBRULE(this.scheduleBlock) },
        { ALT: () => this.SUBRULE(this.equation) },
      ],
      ERR_MSG: 'a declaration or an equation',
    });
  });

  inputDecl = this.RULE('inputDecl', () => {
    this.CONSUME(Input);
    this.CONSUME(Identifier);
    this.CONSUME(LBracket);
    this.OPTION(() => this.SUBRULE(this.indexList));
    this.CONSUME(RBracket);
    this.OPTION2(() => this.SUBRULE(this.typeAnnotation));
  });

  paramDecl = this.RULE('paramDecl', () => {
    this.CONSUME(Param);
    this.CONSUME(Identifier);
    this.OPTION(() => this.SUBRULE(this.typeAnnotation));
    this.CONSUME(Equals);
    this.SUBRULE(this.expression);
  });

  constDecl = this.RULE('constDecl', () => {
    this.CONSUME(Const);
    this.CONSUME(Identifier);
    this.CONSUME(Equals);
    this.SUBRULE(this.expression);
  });

  outputDecl = this.RULE('outputDecl', () => {
    this.CONSUME(Output);
    this.AT_LEAST_ONE_SEP({
      SEP: Comma,
      DEF: () => this.CONSUME(Identifier),
      ERR_MSG: A_TENSOR_NAME,
    });
  });

  initStmt = this.RULE('initStmt', () => {
    this.CONSUME(Init);
    this.CONSUME(Identifier);
    this.CONSUME(LBracket);
    this.SUBRULE(this.subscripts);
    this.CONSUME(RBracket);
    this.CONSUME(Equals);
    this.SUBRULE(this.expression);
  });

  equation = this.RULE('equation', () => {
    this.CONSUME(Identifier);
    this.CONSUME(LBracket);
    this.SUBRULE(this.subscripts);
    this.CONSUME(RBracket);
    this.CONSUME(Equals);
    this.SUBRULE(this.expression);
    this.OPTION(() => this.SUBRULE(this.filter));
  });

  /**
   * `schedule { tile m = 64; fuse O; group hq / G; split m }`: how to run the block, kept apart
   * from what it computes. The directive words are plain names (not keywords, so a tensor may
   * be called `tile`); the checker knows them.
   */
  scheduleBlock = this.RULE('scheduleBlock', () => {
    this.CONSUME(Schedule);
    this.CONSUME(LBrace);
    this.MANY(() =>
      this.OR([
        { ALT: () => this.SUBRULE(this.scheduleEntry) },
        { ALT: () => this.CONSUME(Semicolon) },
      ]),
    );
    this.CONSUME(RBrace);
  });

  /** `VERB NAME`, `VERB NAME = NUMBER` or `VERB NAME / NAME`. */
  scheduleEntry = this.RULE('scheduleEntry', () => {
    this.CONSUME(Identifier);
    this.CONSUME2(Identifier);
    this.OPTION(() =>
      this.OR([
        {
          ALT: () => {
            this.CONSUME(Equals);
            this.CONSUME(NumberLiteral);
          },
        },
        {
          ALT: () => {
            this.CONSUME(MultiplicativeOperator);
            this.CONSUME3(Identifier);
          },
        },
      ]),
    );
  });

  filter = this.RULE('filter', () => {
    this.CONSUME(Where);
    this.SUBRULE(this.expression);
  });

  typeAnnotation = this.RULE('typeAnnotation', () => {
    this.CONSUME(Colon);
    this.CONSUME(Identifier);
  });

  /** Index names in `input T[...]` and `sum[...]`. */
  indexList = this.RULE('indexList', () => {
    this.AT_LEAST_ONE_SEP({
      SEP: Comma,
      DEF: () => this.CONSUME(Identifier),
      ERR_MSG: AN_INDEX_NAME,
    });
  });

  /** Subscript expressions; may be empty (`T[]`, a rank-0 tensor): the checker decides. */
  subscripts = this.RULE('subscripts', () => {
    this.MANY_SEP({ SEP: Comma, DEF: () => this.SUBRULE(this.expression) });
  });

  callArguments = this.RULE('callArguments', () => {
    this.CONSUME(LParen);
    this.MANY_SEP({ SEP: Comma, DEF: () => this.SUBRULE(this.expression) });
    this.CONSUME(RParen);
  });

  expression = this.RULE('expression', () => {
    this.SUBRULE(this.conjunction);
    this.MANY(() => {
      this.CONSUME(OrOr);
      this.SUBRULE2(this.conjunction);
    });
  });

  conjunction = this.RULE('conjunction', () => {
    this.SUBRULE(this.comparison);
    this.MANY(() => {
      this.CONSUME(AndAnd);
      this.SUBRULE2(this.comparison);
    });
  });

  /** A chain is parsed so that `a < b < c` gets a precise error from the AST builder. */
  comparison = this.RULE('comparison', () => {
    this.SUBRULE(this.additive);
    this.MANY(() => {
      this.CONSUME(ComparisonOperator);
      this.SUBRULE2(this.additive);
    });
  });

  additive = this.RULE('additive', () => {
    this.SUBRULE(this.multiplicative);
    this.MANY(() => {
      this.CONSUME(AdditiveOperator);
      this.SUBRULE2(this.multiplicative);
    });
  });

  multiplicative = this.RULE('multiplicative', () => {
    this.SUBRULE(this.unary);
    this.MANY(() => {
      this.CONSUME(MultiplicativeOperator);
      this.SUBRULE2(this.unary);
    });
  });

  unary = this.RULE('unary', () => {
    this.OR({
      DEF: [
        { ALT: () => this.SUBRULE(this.prefixed) },
        { ALT: () => this.SUBRULE(this.reduction) },
        { ALT: () => this.SUBRULE(this.primary) },
      ],
      ERR_MSG: AN_EXPRESSION,
    });
  });

  prefixed = this.RULE('prefixed', () => {
    this.CONSUME(UnaryOperator);
    this.SUBRULE(this.unary);
  });

  /** `sum[m] body`; `max(` and `min(` are calls (two tokens of lookahead tell them apart). */
  reduction = this.RULE('reduction', () => {
    this.CONSUME(Reducer);
    this.CONSUME(LBracket);
    this.SUBRULE(this.indexList);
    this.CONSUME(RBracket);
    this.SUBRULE(this.expression);
  });

  primary = this.RULE('primary', () => {
    this.OR({
      DEF: [
        { ALT: () => this.CONSUME(NumberLiteral) },
        { ALT: () => this.CONSUME(True) },
        { ALT: () => this.CONSUME(False) },
        { ALT: () => this.SUBRULE(this.parenthesized) },
        { ALT: () => this.SUBRULE(this.call) },
        { ALT: () => this.SUBRULE(this.access) },
        // Last: a bare name is a prefix of the two alternatives above.
        { ALT: () => this.CONSUME(Identifier) },
      ],
      ERR_MSG: AN_EXPRESSION,
    });
  });

  parenthesized = this.RULE('parenthesized', () => {
    this.CONSUME(LParen);
    this.SUBRULE(this.expression);
    this.CONSUME(RParen);
  });

  call = this.RULE('call', () => {
    this.OR([
      { ALT: () => this.CONSUME(Identifier) },
      { ALT: () => this.CONSUME(Max) },
      { ALT: () => this.CONSUME(Min) },
      { ALT: () => this.CONSUME(Sum) },
    ]);
    this.SUBRULE(this.callArguments);
  });

  /**
   * `T[subscripts]`, or a macro call `softmax[m](args)` when `(` follows the `]`. Both start the
   * same way for as long as the brackets run, so one rule parses both and the AST builder
   * checks that a macro's brackets hold plain index names.
   */
  access = this.RULE('access', () => {
    this.CONSUME(Identifier);
    this.CONSUME(LBracket);
    this.SUBRULE(this.subscripts);
    this.CONSUME(RBracket);
    this.OPTION(() => this.SUBRULE(this.callArguments));
  });
}

/** Chevrotain parsers are reusable: set `parser.input`, call `parser.module()`. */
export const parser = new AttnParser();
