'use strict'
// A storefront on patron's store (fastify): the pages post events, a worker
// loop wakes contacts and sends their letters, and a letter's one-click
// unsubscribe link comes back here. Regions between START and END markers
// are quoted in docs/store.md; bindings-node/test/storefront.test.js runs it
// end to end over HTTP against a real SMTP server.
//
//   SHOP_DB=shop.db SHOP_SMTP=127.0.0.1:2525 node storefront.js

const path = require('node:path')
const Fastify = require(require.resolve('fastify', { paths: [path.join(__dirname, '../../bindings-node')] }))

const CONFIG = {
  triggers: {
    rules: [{
      id: 'abandoned_cart',
      trigger: { on: 'product', action: 'carted' },
      reentry: { type: 'always' },
      on_repeat: 'restart',
      steps: [{ name: '1h', delay: '1h', template: 'cart' }],
      exit: [{ on: 'event', event: 'order_placed', same_products: true }]
    }]
  },
  templates: {
    cart: {
      subject: "{{ contact.first_name | default(value='Hello') }}, your cart is waiting",
      text: 'Come back for it. Unsubscribe: {{ links.unsubscribe }}'
    }
  },
  sender: { from: 'Shop <news@shop.example>', link_key: process.env.SHOP_LINK_KEY || 'change me' }
}

function storefront ({ db, url, smtp }) {
  // START app
  const patron = require('patron')

  const store = new patron.Store(db, { ...CONFIG, sender: { ...CONFIG.sender, unsubscribe_url: `${url}/unsubscribe` } })
  const app = Fastify()

  // Bad data is the client's error: 422 with the field that was wrong.
  app.setErrorHandler((err, request, reply) => {
    if (err instanceof patron.ValidationError) return reply.code(422).send({ code: err.code, path: err.path, message: err.message })
    reply.send(err)
  })

  app.post('/contacts', async (request) => store.upsertContacts(request.body, new Date()))

  // One transaction per request: all of the batch is stored, or none.
  app.post('/events', async (request) => store.ingest(request.body, new Date()))

  // RFC 8058 one-click: mail clients POST to the List-Unsubscribe address.
  app.post('/unsubscribe', async (request, reply) => {
    try {
      await store.unsubscribe(request.query.token, new Date())
      return { status: 'unsubscribed' }
    } catch (err) {
      return reply.code(400).send({ error: 'this link is not valid' })
    }
  })

  app.get('/contacts/:id', async (request, reply) => (await store.contact(request.params.id)) ?? reply.code(404).send())

  // The worker: wake the contacts that are due, send what was queued; the
  // store's calls run off the event loop, so pages keep being served.
  let running = true
  const worker = (async () => {
    while (running) {
      const now = new Date()
      await store.runDue(now)
      await store.send(now, { smtp })
      await new Promise((resolve) => setTimeout(resolve, 200))
    }
  })()
  app.addHook('onClose', async () => { running = false; await worker })
  // END app
  return app
}

module.exports = { storefront }

if (require.main === module) {
  const port = Number(process.env.PORT || 3000)
  const app = storefront({ db: process.env.SHOP_DB || 'shop.db', url: `http://127.0.0.1:${port}`, smtp: process.env.SHOP_SMTP || '127.0.0.1:25' })
  app.listen({ port, host: '127.0.0.1' })
}
