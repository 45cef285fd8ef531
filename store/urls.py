app_name = "store"

urlpatterns = []
