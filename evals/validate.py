#!/usr/bin/env python3
"""Validate retrieval_dev.jsonl, qa_dev.jsonl and qa_test.jsonl against the sample corpus.

Usage: python3 evals/validate.py [corpus_glob]
Exits non-zero if any check fails.
"""
import glob, json, os, re, sys
from collections import Counter

CORPUS = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'assistant', 'data', 'sample', '*.txt')
HERE = os.path.dirname(os.path.abspath(__file__))

HEADER = {'new', 'Get trending papers in your email inbox!', 'Subscribe', 'Daily Papers',
          'byAK and the research community'}
DATE = r'(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{1,2}(?:, \d{4})?'
datere = re.compile(r'^' + DATE + r'$')
metare = re.compile(r'^(?:•\s*(\d+)\s+authors?|(.+?))\n(?:·\n)?(' + DATE + r')(?:\s+(\d+))?$')


def parse(pattern):
    papers = {}
    for f in sorted(glob.glob(pattern)):
        blocks = [b.strip() for b in re.split(r'\n\s*\n', open(f, encoding='utf-8').read()) if b.strip()]
        i = 0
        while i < len(blocks):
            b = blocks[i]
            if b in HEADER or datere.match(b) or metare.match(b):
                i += 1
                continue
            if i + 1 < len(blocks) and '\n' not in b and len(b) < 300:
                papers.setdefault(b, blocks[i + 1])
                i += 2
                continue
            i += 1
    return papers


def main():
    papers = parse(CORPUS)
    errors = []
    counts = Counter()
    ids = set()
    print(f'parsed {len(papers)} unique papers')

    def load(name, required, kinds):
        rows = []
        with open(os.path.join(HERE, name), encoding='utf-8') as fh:
            for ln, line in enumerate(fh, 1):
                try:
                    r = json.loads(line)
                except Exception as e:
                    errors.append(f'{name}:{ln}: invalid JSON ({e})')
                    continue
                miss = [k for k in required if k not in r]
                if miss:
                    errors.append(f'{name}:{ln}: missing fields {miss}')
                    continue
                if r['id'] in ids:
                    errors.append(f'{name}:{ln}: duplicate id {r["id"]}')
                ids.add(r['id'])
                if r['kind'] not in kinds:
                    errors.append(f'{name}:{ln}: bad kind {r["kind"]}')
                if not isinstance(r['gold'], list):
                    errors.append(f'{r["id"]}: gold must be a list')
                for t in r['gold']:
                    if t not in papers:
                        errors.append(f'{r["id"]}: gold title not in corpus: {t!r}')
                if len(set(r['gold'])) != len(r['gold']):
                    errors.append(f'{r["id"]}: duplicate gold titles')
                counts[(name, r['kind'])] += 1
                rows.append(r)
        return rows

    ret = load('retrieval_dev.jsonl', ['id', 'kind', 'query', 'gold'], {'paraphrase', 'verbatim', 'topical'})
    qa_kinds = {'fact', 'unanswerable', 'survey', 'compare'}
    qa = load('qa_dev.jsonl', ['id', 'kind', 'query', 'answers', 'gold'], qa_kinds)
    qa_test = load('qa_test.jsonl', ['id', 'kind', 'query', 'answers', 'gold'], qa_kinds)

    for r in ret:
        if r['kind'] in ('paraphrase', 'verbatim') and len(r['gold']) != 1:
            errors.append(f'{r["id"]}: expected exactly one gold title')
        if r['kind'] == 'verbatim':
            n = len(r['query'].split())
            if not 5 <= n <= 12:
                errors.append(f'{r["id"]}: verbatim phrase has {n} words (want 5-12)')
            g = r['gold'][0]
            if g in papers and r['query'] not in papers[g]:
                errors.append(f'{r["id"]}: phrase not found verbatim in gold abstract')
            others = [t for t, a in papers.items() if t != g and r['query'].lower() in a.lower()]
            if others:
                errors.append(f'{r["id"]}: phrase also occurs in {others}')
        if r['kind'] == 'topical' and not 3 <= len(r['gold']) <= 25:
            errors.append(f'{r["id"]}: topical gold size {len(r["gold"])} outside 3-25')

    for r in qa + qa_test:
        if r['kind'] == 'fact':
            if len(r['gold']) != 1 or not r['answers']:
                errors.append(f'{r["id"]}: fact needs one gold title and >=1 answer')
                continue
            for a in r['answers']:
                if len(a.split()) > 6:
                    errors.append(f'{r["id"]}: answer longer than 6 words: {a!r}')
            ab = papers.get(r['gold'][0], '').lower()
            if not any(a.lower() in ab for a in r['answers']):
                errors.append(f'{r["id"]}: no answer string occurs in gold abstract')
        elif r['kind'] in ('survey', 'compare'):
            if r['answers'] or len(r['gold']) < 2:
                errors.append(f'{r["id"]}: {r["kind"]} needs empty answers and >=2 gold titles')
            if r['kind'] == 'compare':
                sides = r.get('sides') or []
                if len(sides) != 2 or not all(sides) or {t for x in sides for t in x} != set(r['gold']):
                    errors.append(f'{r["id"]}: compare needs two non-empty sides whose union is gold')
        else:
            if r['answers'] or r['gold']:
                errors.append(f'{r["id"]}: unanswerable must have empty answers and gold')

    # qa_test.jsonl is held out: none of its gold papers may be a qa_dev gold paper.
    # (survey/compare test questions are new questions over topics the dev set also asks about)
    dev_gold = {t for r in qa if r['kind'] == 'fact' for t in r['gold']}
    for r in qa_test:
        for t in (r['gold'] if r['kind'] == 'fact' else []):
            if t in dev_gold:
                errors.append(f'{r["id"]}: qa_test gold paper is also a qa_dev gold paper: {t!r}')

    for (name, kind), c in sorted(counts.items()):
        print(f'{name:22s} {kind:13s} {c}')
    for r in ret:
        if r['kind'] == 'topical':
            print(f'  {r["id"]} ({len(r["gold"]):2d}) {r["query"]}')
    if errors:
        print(f'\n{len(errors)} ERROR(S):')
        for e in errors:
            print('  ' + e)
        sys.exit(1)
    print('\nall checks passed')


if __name__ == '__main__':
    main()
