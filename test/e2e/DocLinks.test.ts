/**
 * The README and docs/ point newcomers at files and sections: every relative link names a file or
 * folder of the repository, and every `#anchor` a heading of the page it points into (GitHub's
 * slugs: lower case, punctuation dropped, spaces as hyphens).
 */
import { assert, describe, it } from "@effect/vitest"
import { existsSync, readdirSync, readFileSync } from "node:fs"
import { dirname, join, relative } from "node:path"

const root = new URL("../..", import.meta.url).pathname
const pages = [
  "README.md",
  ...readdirSync(join(root, "docs")).filter((name) => name.endsWith(".md")).map((name) => `docs/${name}`)
]

const slug = (heading: string): string =>
  heading.trim().toLowerCase().replace(/[^\p{L}\p{N} _-]/gu, "").replace(/ /g, "-")

const anchorsOf = (file: string): ReadonlySet<string> =>
  new Set(
    readFileSync(file, "utf8").replace(/```[\s\S]*?```/g, "").split("\n")
      .filter((line) => /^#{1,6} /.test(line))
      .map((line) => slug(line.replace(/^#+ /, "")))
  )

/** `[text](target)` outside code blocks and code spans, without external and mail links. */
const linksOf = (text: string): ReadonlyArray<string> =>
  [...text.replace(/```[\s\S]*?```/g, "").replace(/`[^`\n]*`/g, "").matchAll(/\]\(([^)\s]+)\)/g)]
    .map((match) => match[1] ?? "")
    .filter((target) => !/^[a-z]+:/.test(target))

describe("links in the README and docs/", () => {
  it("name files that exist and headings that exist", () => {
    const broken: Array<string> = []
    for (const page of pages) {
      const from = join(root, page)
      for (const link of linksOf(readFileSync(from, "utf8"))) {
        const [path = "", anchor] = link.split("#")
        const target = path === "" ? from : join(dirname(from), path)
        if (!existsSync(target)) broken.push(`${page}: ${link} (no ${relative(root, target)})`)
        else if (anchor !== undefined && target.endsWith(".md") && !anchorsOf(target).has(anchor)) {
          broken.push(`${page}: ${link} (no heading #${anchor})`)
        }
      }
    }
    assert.deepStrictEqual(broken, [])
  })
})
