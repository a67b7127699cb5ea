from service.app.cli import run

run()
